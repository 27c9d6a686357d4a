// State transfer (byzantine mode): a replica that fell further behind than
// block sync can carry installs another replica's snapshot, trusting
// nothing but a checkpoint certificate. Rules: docs/protocol-bft.md, "State
// transfer".
//
// Every certified checkpoint height, each replica writes its state (a
// StateSnapshot) to disk in chunks. A replica whose certified checkpoints run
// ahead of its committed height asks a peer for that peer's newest certified
// snapshot, one chunk at a time:
//
//   SnapshotFetch fetch(validators, self, replicas, {.bytes_max = 1 << 30});
//   if (auto ask = fetch.tick(height)) send(ask->to, ask->request);   // starts or retries
//   auto step = fetch.on_chunk(peer, chunk, height);                  // errors: a liar
//   if (auto* done = std::get_if<SnapshotFetch::Complete>(&*step)) install(*done);
//
// The first chunk carries the certificate and the manifest (chunk hashes);
// the certificate must verify, each chunk must match its hash, and the
// assembled state's root (state_root) must be the certified root before the
// runner installs it. A peer that fails any of these loses its turn; the
// fetch moves to the next replica.
#pragma once

#include <map>
#include <optional>
#include <variant>

#include "consensus/bft/checkpoint.h"
#include "consensus/bft/leaders.h"
#include "crypto/chunk_manifest.h"

namespace phalanx::bft {

// A replica's whole replicated state after `height` committed blocks, as
// written to its snapshot chunks. state_root() over it (with the app's
// digest after restoring `app`) is what checkpoints sign.
struct StateSnapshot {
  static constexpr std::size_t kAppBytesMax = std::size_t{1} << 40;

  std::uint64_t height = 0;
  std::uint64_t requests = 0;  // in the committed blocks: the next one is applied at requests + 1
  Block tip;                   // the last committed block
  LeaderSchedule schedule;     // after the tip
  Bytes app;                   // StateMachine::snapshot()

  void encode(codec::Writer& w) const;
  // `replicas` and `options`: the cluster's, which the schedule is for.
  [[nodiscard]] static Result<StateSnapshot> decode(codec::Reader& r, std::vector<NodeId> replicas,
                                                    ScheduleOptions options);
};

// "Send me chunk `chunk` of your certified snapshot at `height`." A replica
// that holds another certified snapshot answers with chunk 0 of that one.
// Otherwise it sends chunk `chunk` and the rest of its run (the chunks up
// to the next multiple of kChunksPerRun), so a transfer takes one round
// trip per run rather than per chunk.
struct SnapshotRequest {
  static constexpr std::uint64_t kChunksPerRun = 8;

  std::uint64_t height = 0;  // 0: the newest you hold
  std::uint64_t chunk = 0;
};

// One chunk of a certified snapshot. Chunk 0 also carries the certificate
// and the manifest (every chunk's hash), so each later chunk is checked as
// it arrives.
struct SnapshotChunk {
  // Per chunk on the wire, well under the frame limit.
  static constexpr std::size_t kDataBytesMax = 16u << 20;

  std::uint64_t height = 0;
  std::uint64_t chunk = 0;
  std::optional<CheckpointCert> cert;             // with chunk 0
  std::optional<crypto::ChunkManifest> manifest;  // with chunk 0
  Bytes data;

  bool operator==(const SnapshotChunk&) const = default;
};

class SnapshotFetch {
 public:
  struct Options {
    std::uint64_t bytes_max = std::uint64_t{4} << 30;  // a larger snapshot is refused
    std::uint32_t stall_ticks = 20;  // without a useful chunk, the next replica is asked
    // Without a useful chunk for this long (a chunk of the run was lost or
    // overtaken), the chunk awaited is asked for again from the same replica.
    std::uint32_t reask_ticks = 4;
  };
  struct Ask {
    NodeId to;
    SnapshotRequest request;
  };
  // Every chunk has arrived and matched the manifest; the runner checks the
  // state against cert.root before installing it (refuse() if it does not match).
  struct Complete {
    NodeId from;
    CheckpointCert cert;
    crypto::ChunkManifest manifest;
    Bytes state;  // the chunks, concatenated: an encoded StateSnapshot
  };
  // What a chunk led to: nothing (not for the transfer in progress), the
  // next request, or the whole snapshot.
  using Step = std::variant<std::monostate, Ask, Complete>;

  SnapshotFetch(Validators validators, NodeId self, std::vector<NodeId> replicas, Options options);

  // On every tick while the runner wants a snapshot: starts a fetch (from the
  // next replica in rotation), asks again for the chunk awaited every
  // reask_ticks, or, when the one in progress stalled, moves it to the next
  // replica. Returns the request to send, if any.
  [[nodiscard]] std::optional<Ask> tick();
  // Stops the fetch in progress (the runner no longer needs it).
  void cancel();
  [[nodiscard]] bool active() const { return peer_.has_value(); }

  // A chunk from `from`, for a replica at committed height `height`. Chunks
  // from anyone but the replica asked, or not the one asked for, are
  // ignored. Errors (the peer loses its turn): the certificate's own
  // (verify_checkpoint_cert), SnapshotRefused{kManifest, kChunkHash}.
  [[nodiscard]] Result<Step> on_chunk(NodeId from, const SnapshotChunk& chunk,
                                      std::uint64_t height);
  // The runner found the complete state wrong (SnapshotRefused{kState,
  // kStateRoot}): the next replica is asked on the next tick.
  void refuse();

 private:
  void next_peer();
  [[nodiscard]] Ask ask(std::uint64_t height, std::uint64_t chunk);
  [[nodiscard]] Status begin(NodeId from, const SnapshotChunk& chunk);

  Validators validators_;
  NodeId self_;
  std::vector<NodeId> replicas_;
  Options options_;
  NodeId last_asked_;                   // rotation position
  std::optional<NodeId> peer_;          // the replica being asked
  std::optional<CheckpointCert> cert_;  // once chunk 0 arrived
  std::optional<crypto::ChunkManifest> manifest_;
  std::uint64_t next_chunk_ = 0;
  Bytes state_;
  std::map<std::uint64_t, Bytes> ahead_;  // chunks that overtook next_chunk_, unchecked
  std::uint32_t idle_ = 0;                // ticks since the last useful chunk
};

}  // namespace phalanx::bft
