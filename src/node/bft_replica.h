// A byzantine-mode replica: the BFT core, its durable safety data, the WAL
// of committed blocks and a state machine, behind consensus::Replica.
//
// Runs the core's runner contract (consensus/bft/core.h): safety data is on
// disk (fsync) before any vote or timeout leaves, committed blocks are in
// the WAL before anything that follows them is sent, then they are applied
// and every waiting client gets a reply signed by this replica.
//
//   auto r = BftReplica::open(fs, registry, options, std::make_unique<kv::KvMachine>(), key);
//   (*r)->receive(peer, frame);                 // signatures checked here
//   (*r)->call(handle, {call_id, encoded_signed_request});
//   for (auto& m : (*r)->take_output().messages) send(m.to, m.frame);
//
// Clients send each request to every replica and accept a result on f+1
// matching signed replies (consensus::ReplyQuorum). Reads are ordered
// through the log like writes, so every reply is linearizable.
//
// On-disk layout under options.data_dir: wal/ (committed blocks, one per
// entry, from a little before the newest certified snapshot), bft_state
// (safety data), voted/ (blocks voted for and not yet known committed),
// evidence/ (equivocation proofs held), snapshots/ (the state at the newest
// checkpoint height), snapshot_cert (the certificate of that state, once
// q replicas signed its root), checkpoint (the newest certificate).
//
// State transfer (docs/protocol-bft.md): a replica whose newest checkpoint
// certificate is far ahead of its committed height, or that commits nothing
// while one is ahead, fetches a peer's certified snapshot chunk by chunk
// (bft::SnapshotFetch), checks its root against the certificate, installs
// it, and continues from there with block sync.
#pragma once

#include <chrono>
#include <functional>
#include <limits>
#include <memory>
#include <span>

#include "consensus/bft/core.h"
#include "consensus/common/client_reply.h"
#include "consensus/common/replica.h"
#include "consensus/common/state_machine.h"
#include "security/policy.h"
#include "security/registry.h"
#include "storage/file_system.h"
#include "storage/snapshot.h"
#include "storage/wal.h"

namespace phalanx::node {

// How the node paces byzantine rounds: a round without progress ends after
// 1 s, doubling up to 8 s while rounds keep failing; an idle chain grows by
// two empty blocks a second; votes for a leader not heard from for 200 ms go
// to every replica (under load every peer is heard from every few tens of
// ms). The simulator's service check can run with it too (`--node-pacing`).
struct BftPacing {
  std::chrono::milliseconds round_timeout{1000};
  std::uint32_t backoff_max = 8;  // the longest round timeout, in base timeouts
  std::chrono::milliseconds idle_propose{500};
  std::chrono::milliseconds silence{200};

  // Sets the timing of `config` for a replica that ticks every `tick`.
  void apply(std::chrono::milliseconds tick, bft::Config& config) const;
};

struct BftReplicaOptions {
  bft::Config bft;  // id, cluster, replicas, validators, timing, batching
  std::string data_dir = "/data";
  storage::WalOptions wal = {};
  // Every this many committed blocks the replica signs its state root
  // (consensus/bft/checkpoint.h) and writes its state to snapshots/; the
  // newest certificate is kept on disk.
  std::uint64_t checkpoint_interval = 128;
  std::uint32_t snapshot_chunk_bytes = 1u << 20;
  // A snapshot is fetched once the newest certificate is this many blocks
  // ahead (0: half of committed_blocks_kept, the most block sync is left
  // to carry), or when nothing commits for 2 * fetch.stall_ticks while one is ahead.
  std::uint64_t transfer_lag = 0;
  bft::SnapshotFetch::Options fetch = {};
  // Snapshot chunks served per tick, to all peers together.
  std::uint32_t snapshot_chunks_per_tick = 16;
  // Planted bug (simulator only): an installed snapshot's leader schedule is
  // not handed to the core, which keeps following the rotation it had.
  bool TEST_install_keeps_core_schedule = false;
};

// Observers for checkers, traces and logs.
struct BftReplicaHooks {
  // Every committed block, with its height (1 for the first after genesis),
  // also those replayed from the WAL on restart: a block made durable just
  // before the replica stopped on an I/O error is reported once it comes back
  // (found by the simulator, seed 34: height 4 durable, never reported).
  // `failed_leaders`: the leaders of the failed rounds just before it.
  std::function<void(const bft::Block&, std::uint64_t height,
                     std::span<const NodeId> failed_leaders)>
      committed;
  // Every committed request as it is applied; `executed` is false for a
  // retry answered from the session cache and for a refused command.
  std::function<void(const consensus::ClientRequest&, bool executed)> applied;
  // Every new equivocation proof.
  std::function<void(const bft::EquivocationProof&)> evidence;
  // Every checkpoint certificate formed or received, and every replica
  // found to have signed a root other than a certified one.
  std::function<void(const bft::CheckpointCert&)> certified;
  std::function<void(const bft::Divergence&)> diverged;
  // Every certified snapshot installed by state transfer (not replayed on recovery).
  std::function<void(const bft::CheckpointCert&)> installed;
};

class BftReplica final : public consensus::Replica {
 public:
  // Equivocation proofs kept on disk and in memory; more are only counted.
  static constexpr std::size_t kEvidenceKeptMax = 256;

  // Recovers from options.data_dir (created if absent): the committed blocks
  // are replayed into the state machine, the safety data restored.
  // kCorruption if the directory cannot be trusted (a block that does not
  // decode or does not extend the one before it, a safety file of another
  // epoch). `registry` must outlive the replica; `key` is this replica's.
  [[nodiscard]] static Result<std::unique_ptr<BftReplica>> open(
      storage::FileSystem& fs, const security::TrustRegistry& registry, BftReplicaOptions options,
      std::unique_ptr<consensus::StateMachine> app, crypto::KeyPair key,
      BftReplicaHooks hooks = {});

  [[nodiscard]] NodeId id() const override { return core_->id(); }
  void tick() override;
  // Beyond the channel checks of Replica::receive: a block, vote or timeout
  // must be signed by the peer that sent it (AuthenticationFailed otherwise,
  // SignatureInvalid for a bad signature).
  [[nodiscard]] Status receive(NodeId from, ByteView frame) override;
  // `call.request` is an encoded, client-signed ClientRequest. Refused
  // (kRejected, the reason in `reply`) if it does not decode, is not signed
  // by a registered client, is for another cluster, or its command does not
  // name the signing client's session. Otherwise answered once committed
  // with an encoded ClientReply signed by this replica.
  void call(consensus::ClientHandle client, consensus::ClientCall call) override;
  [[nodiscard]] consensus::Output take_output() override;
  [[nodiscard]] const std::optional<Error>& failure() const override { return failure_; }
  [[nodiscard]] consensus::ReplicaStatus status() const override;

  [[nodiscard]] const bft::Core& core() const { return *core_; }
  [[nodiscard]] const consensus::StateMachine& state_machine() const { return *app_; }
  [[nodiscard]] std::uint64_t height() const { return height_; }
  // Committed requests answered from the session cache instead of executed.
  [[nodiscard]] std::uint64_t replays_answered() const { return replays_answered_; }
  [[nodiscard]] const std::vector<bft::EquivocationProof>& evidence() const { return evidence_; }
  [[nodiscard]] std::uint64_t evidence_count() const { return evidence_count_; }
  // The newest checkpoint certificate this replica holds (also in the
  // `checkpoint` file), and the replicas it found diverged from one.
  [[nodiscard]] const std::optional<bft::CheckpointCert>& checkpoint() const {
    return checkpoints_.latest();
  }
  [[nodiscard]] const std::vector<bft::Divergence>& divergences() const { return divergences_; }
  // The height of the snapshot on disk (0: none), and whether q replicas certified its root.
  [[nodiscard]] std::uint64_t snapshot_height() const { return snapshot_ ? snapshot_->height : 0; }
  [[nodiscard]] bool snapshot_certified() const { return snapshot_ && snapshot_->cert; }
  [[nodiscard]] std::uint64_t snapshots_installed() const { return snapshots_installed_; }
  [[nodiscard]] std::uint64_t snapshot_chunks_served() const { return chunks_served_; }

 private:
  using Session = std::pair<ClientId, std::uint64_t>;
  // The state on disk at a checkpoint height.
  struct HeldSnapshot {
    std::uint64_t height = 0;
    crypto::Hash32 root;  // its state root
    storage::SnapshotManifest manifest;
    std::optional<bft::CheckpointCert> cert;  // once certified with this root
  };
  struct Waiting {
    consensus::ClientHandle client;
    std::uint64_t call_id;
  };

  BftReplica(storage::FileSystem& fs, const security::TrustRegistry& registry,
             BftReplicaOptions options, std::unique_ptr<consensus::StateMachine> app,
             crypto::KeyPair key, BftReplicaHooks hooks);

  // The committed tip after restoring the newest snapshot and replaying the
  // WAL after it into the state machine; `recent` gets the committed blocks
  // before the tip that the WAL still holds (up to committed_blocks_kept).
  [[nodiscard]] Result<bft::Block> recover_blocks(std::vector<bft::Block>& recent);
  // Restores the state machine, schedule, height and request count from the
  // snapshot file at `path`; returns its tip.
  [[nodiscard]] Result<bft::Block> restore_snapshot(const std::string& path);
  // Makes the WAL continue the snapshot just restored (at height_).
  [[nodiscard]] Status align_wal();
  [[nodiscard]] Result<bft::SafetyData> recover_safety();
  [[nodiscard]] Status recover_evidence();
  // The voted blocks above `tip`, for the core.
  [[nodiscard]] Result<std::vector<bft::Block>> recover_voted(const bft::Block& tip);
  // Drops voted blocks at or below the committed tip (whole segments).
  [[nodiscard]] Status compact_voted(Round committed);
  [[nodiscard]] Status deliver(NodeId from, const bft::Payload& body);
  // Persists, queues the messages, applies (the runner contract).
  void drive();
  [[nodiscard]] Status persist(const bft::Ready& ready);
  [[nodiscard]] bool may_execute(const consensus::ClientRequest& req) const;
  void apply(const bft::Block& block, bool replaying);
  // Signs and sends this replica's checkpoint for the block just applied,
  // and writes the state to snapshots/.
  [[nodiscard]] Status checkpoint(const bft::Block& block);
  // Writes `state` (an encoded StateSnapshot, root `root`) as the snapshot
  // on disk; `entry_hash`: the WAL's hash chain at its height.
  [[nodiscard]] Status write_snapshot(const bft::StateSnapshot& header, ByteView state,
                                      const crypto::Hash32& root, const crypto::Hash32& entry_hash);
  // Persists new certificates, reports divergences; a certificate for the
  // snapshot on disk makes it servable and compacts the WAL below it.
  [[nodiscard]] Status absorb_checkpoints();
  [[nodiscard]] Status adopt_certificate(const bft::CheckpointCert& cert);
  // State transfer: fetch when far behind; serve chunks; install.
  void maybe_fetch();
  [[nodiscard]] Status serve_snapshot(NodeId to, const bft::SnapshotRequest& request);
  [[nodiscard]] Status on_snapshot_chunk(NodeId from, const bft::SnapshotChunk& chunk);
  // Checks `done` against its certificate and installs it. SnapshotRefused
  // (nothing changed) if the state is not the certified one.
  [[nodiscard]] Status install(bft::SnapshotFetch::Complete done);
  void send(NodeId to, bft::Payload body);
  void count(const Error& error);

  storage::FileSystem& fs_;
  const security::TrustRegistry& registry_;
  security::Policy policy_ = security::Policy::standard();
  BftReplicaOptions options_;
  std::unique_ptr<consensus::StateMachine> app_;
  crypto::KeyPair reply_key_;
  BftReplicaHooks hooks_;
  std::unique_ptr<storage::Wal> wal_;           // committed blocks
  std::unique_ptr<storage::Wal> evidence_wal_;  // equivocation proofs kept
  std::unique_ptr<storage::Wal> voted_wal_;     // blocks voted for, above the committed tip
  LogIndex voted_scanned_;                      // voted_wal_ entries known to be committed
  bft::LeaderSchedule schedule_;  // after the last applied block (the core keeps its own)
  bft::CheckpointTracker checkpoints_;
  // Certificates of recent heights: the one for a snapshot written after
  // its certificate formed (this replica was behind) is found here.
  std::map<std::uint64_t, bft::CheckpointCert> recent_certs_;
  std::optional<HeldSnapshot> snapshot_;
  std::unique_ptr<storage::SnapshotReader> serving_;  // snapshot_'s file, open while serving
  bft::SnapshotFetch fetch_;
  std::uint32_t served_this_tick_ = 0;
  // Ticks since a chunk past the first was served (a transfer reading the
  // snapshot on disk), and checkpoints whose snapshot was skipped for it.
  std::uint64_t ticks_since_chunk_served_ = std::numeric_limits<std::uint64_t>::max() / 2;
  std::uint32_t snapshots_held_ = 0;
  std::uint64_t height_last_tick_ = 0;
  std::uint64_t ticks_without_commit_ = 0;
  std::uint64_t snapshots_installed_ = 0;
  std::uint64_t chunks_served_ = 0;
  std::vector<bft::Divergence> divergences_;  // the first kEvidenceKeptMax
  std::unique_ptr<bft::Core> core_;
  std::uint64_t height_ = 0;         // committed blocks
  std::uint64_t applied_index_ = 0;  // committed requests, the state machine's log index
  std::map<Session, std::vector<Waiting>> waiting_;
  std::vector<bft::EquivocationProof> evidence_;
  std::uint64_t evidence_count_ = 0;
  Round seen_round_;  // the round drive() last saw, for view_changes_
  std::uint64_t view_changes_ = 0;
  std::uint64_t replays_answered_ = 0;
  consensus::Output out_;
  std::optional<Error> failure_;
  std::map<std::string, std::uint64_t> rejected_;
};

}  // namespace phalanx::node
