// A crash-mode replica: the Raft core, its WAL, hard state and snapshots on
// a FileSystem, and a state machine, behind consensus::Replica.
//
// Runs the core's runner contract (consensus/raft/core.h) so that no runner
// has to: persist, then queue messages, then apply, then answer reads.
// With background_sync the log's fsync runs wherever the runner likes (the
// node: a disk thread) while the replica goes on: take_flush() hands it out,
// flushed() takes the outcome back, and every message that promises
// something about the log is held until then.
// Snapshots are taken every `snapshot_every` applied entries and the log is
// compacted behind them; snapshots stream to followers chunk by chunk. With
// background_sync the state is serialized on the replica's thread but
// written and fsynced by the runner (take_snapshot_job / snapshot_written),
// and published (renamed into place, the log compacted) back on the
// replica's thread, unless a snapshot from the leader was installed meanwhile.
//
//   auto r = RaftReplica::open(fs, registry, options, std::make_unique<kv::KvMachine>(), seed);
//   (*r)->receive(peer, frame);
//   for (auto& m : (*r)->take_output().messages) send(m.to, m.frame);
//
// On-disk layout under options.data_dir: wal/ (segments), raft_state (term
// and vote), snapshots/ (the newest snapshots, each checked by its Merkle root).
#pragma once

#include <deque>
#include <functional>
#include <memory>
#include <optional>

#include "consensus/common/replica.h"
#include "consensus/common/state_machine.h"
#include "consensus/raft/core.h"
#include "security/policy.h"
#include "security/registry.h"
#include "storage/file_system.h"
#include "storage/snapshot.h"
#include "storage/wal.h"

namespace phalanx::node {

struct RaftReplicaOptions {
  raft::Config raft;       // id, bootstrap voters, timing, batching
  ClusterId cluster = {};  // client requests must name it
  std::string data_dir = "/data";
  storage::WalOptions wal = {};
  // Applied entries between snapshots (etcd's --snapshot-count default).
  std::uint64_t snapshot_every = 100'000;
  std::uint64_t snapshot_retain = 1'000;  // log entries kept behind one, for slow followers
  std::uint32_t snapshot_chunk_bytes = 1u << 20;
  // Group commit: receive() and call() only step the core; the runner calls
  // flush() once a batch of them is in, and everything the batch appended is
  // made durable with one fsync before any of its messages leave. tick()
  // always flushes.
  bool defer_drive = false;
  // Background sync: appended entries are written at once but synced by
  // the runner (take_flush / flushed), and snapshots are written by it
  // (take_snapshot_job / snapshot_written). Off: drive() does both itself.
  bool background_sync = false;
  // Test-only planted bugs: vote replies leave before the vote is durable;
  // with background_sync, no message waits for the flush.
  bool TEST_reply_before_vote_durable = false;
  bool TEST_release_before_flush = false;
};

// A snapshot being written: the state machine's state, serialized when it
// was taken, goes to the file and is made durable by run(), on any thread.
struct SnapshotJob {
  std::shared_ptr<storage::SnapshotWriter> writer;
  std::shared_ptr<const Bytes> state;
  std::uint32_t chunk_bytes = 0;
  LogIndex at;                   // the last entry it covers
  std::uint64_t generation = 0;  // of the replica's snapshot installs when taken

  [[nodiscard]] Status run() const;
};

// Observers for checkers, traces and logs.
struct RaftReplicaHooks {
  // Every committed entry as it is applied; `executed` is false for no-ops,
  // configurations and retries answered from the session cache.
  std::function<void(const raft::Entry&, bool executed)> applied;
  // Notable events in one line: a snapshot taken or installed.
  std::function<void(const std::string&)> event;
};

class RaftReplica final : public consensus::Replica {
 public:
  // Recovers from options.data_dir (created if absent): the newest snapshot
  // restores the state machine, the log after it is replayed into the core.
  // kCorruption if the directory cannot be trusted (a log entry of no known
  // kind, a membership that does not decode, a snapshot failing its root).
  // `registry` must outlive the replica.
  [[nodiscard]] static Result<std::unique_ptr<RaftReplica>> open(
      storage::FileSystem& fs, const security::TrustRegistry& registry, RaftReplicaOptions options,
      std::unique_ptr<consensus::StateMachine> app, std::uint64_t seed,
      RaftReplicaHooks hooks = {});

  [[nodiscard]] NodeId id() const override { return core_->id(); }
  void tick() override;
  [[nodiscard]] Status receive(NodeId from, ByteView frame) override;
  void call(consensus::ClientHandle client, consensus::ClientCall call) override;
  void flush() override;
  [[nodiscard]] consensus::Output take_output() override;
  // Background sync: the log flush to run now, if one is due and none is
  // out. Run it (storage::WalFlush::run, on any thread) and hand the
  // outcome to flushed() on the replica's thread.
  [[nodiscard]] std::optional<storage::WalFlush> take_flush();
  void flushed(const storage::WalFlush& flush, const Status& outcome);
  // Background sync: the snapshot to write now, if one was taken and none
  // is out. Run it (SnapshotJob::run, on any thread) and hand the outcome
  // to snapshot_written() on the replica's thread.
  [[nodiscard]] std::optional<SnapshotJob> take_snapshot_job();
  void snapshot_written(const SnapshotJob& job, const Status& outcome);
  [[nodiscard]] const std::optional<Error>& failure() const override { return failure_; }
  [[nodiscard]] consensus::ReplicaStatus status() const override;

  // Leader only (see raft::Core): kInvalidArgument when refused.
  [[nodiscard]] Status transfer_leadership(NodeId target);
  [[nodiscard]] Result<LogIndex> change_membership(std::vector<NodeId> voters,
                                                   std::vector<NodeId> learners);

  [[nodiscard]] const raft::Core& core() const { return *core_; }
  [[nodiscard]] const consensus::StateMachine& state_machine() const { return *app_; }
  [[nodiscard]] std::uint64_t snapshots_taken() const { return snapshots_taken_; }
  [[nodiscard]] std::uint64_t snapshots_installed() const { return snapshots_installed_; }
  // Own snapshots dropped because the leader's was installed while they were written.
  [[nodiscard]] std::uint64_t snapshots_dropped() const { return snapshots_dropped_; }
  // Messages waiting for the log flush they depend on.
  [[nodiscard]] std::size_t messages_held() const { return held_.size(); }

 private:
  // A message that may leave once the log is durable through `needs`.
  struct Held {
    LogIndex needs;
    consensus::Output::ToPeer message;
  };
  struct Waiting {
    consensus::ClientHandle client;
    std::uint64_t call_id;
    Bytes request;
    LogIndex index;  // reads: set once the core confirms the read index
  };

  RaftReplica(storage::FileSystem& fs, const security::TrustRegistry& registry,
              RaftReplicaOptions options, std::unique_ptr<consensus::StateMachine> app,
              RaftReplicaHooks hooks);

  [[nodiscard]] Result<raft::Persisted> recover();
  [[nodiscard]] Result<raft::SnapshotManifest> restore(const std::string& path);
  // Persists, queues the messages, applies, serves reads (the runner contract).
  void drive();
  void drive_once();
  [[nodiscard]] Status persist(const raft::Ready& ready);
  [[nodiscard]] Status install(const raft::SnapshotManifest& installed);
  [[nodiscard]] Status queue_messages(std::vector<raft::Message> messages);
  void release_held();
  [[nodiscard]] Result<Bytes> read_snapshot_chunk(LogIndex last_index, std::uint64_t chunk);
  void apply(const raft::Entry& e);
  [[nodiscard]] Status maybe_snapshot();
  // Publishes a written snapshot and compacts the log behind it, or drops
  // it if a snapshot from the leader was installed since it was taken.
  [[nodiscard]] Status publish_snapshot(const SnapshotJob& job, const Status& written);
  void serve_reads(const std::vector<raft::ReadyRead>& released);
  void answer(const Waiting& w, consensus::CallOutcome outcome, Bytes reply);
  void not_leader(consensus::ClientHandle client, std::uint64_t call_id, const raft::NotLeader& n);
  void event(const std::string& what) const {
    if (hooks_.event) hooks_.event(what);
  }

  storage::FileSystem& fs_;
  const security::TrustRegistry& registry_;
  security::Policy policy_ = security::Policy::standard();
  RaftReplicaOptions options_;
  std::unique_ptr<consensus::StateMachine> app_;
  RaftReplicaHooks hooks_;
  std::string wal_dir_;
  std::string state_path_;
  std::string snapshot_dir_;
  std::unique_ptr<storage::Wal> wal_;
  std::unique_ptr<raft::Core> core_;
  std::unique_ptr<storage::SnapshotWriter> receiving_;  // a snapshot streamed from the leader
  LogIndex receiving_at_;                               // ...its last index
  std::unique_ptr<storage::SnapshotReader> sending_;    // the snapshot chunks are sent from
  std::map<LogIndex, Waiting> proposals_;               // by log index
  std::map<std::uint64_t, Waiting> reads_;              // by ReadIndex request id
  std::uint64_t next_read_id_ = 1;
  consensus::Output out_;
  std::deque<Held> held_;                    // background sync: in order of needs
  std::optional<storage::WalFlush> flush_;   // written, for take_flush()
  bool flushing_ = false;                    // a flush is out with the runner
  std::optional<SnapshotJob> snapshot_job_;  // taken, for take_snapshot_job()
  bool snapshotting_ = false;                // a snapshot job is out with the runner
  std::uint64_t installs_ = 0;               // snapshots installed from the leader, ever
  std::optional<Error> failure_;
  std::map<std::string, std::uint64_t> rejected_;
  Term seen_term_;  // the term drive() last saw, for view_changes_
  std::uint64_t view_changes_ = 0;
  std::uint64_t snapshots_taken_ = 0;
  std::uint64_t snapshots_installed_ = 0;
  std::uint64_t snapshots_dropped_ = 0;
};

}  // namespace phalanx::node
