// The pure Raft core (crash mode). Rules and invariants: docs/protocol-raft.md.
//
// No sockets, files, clocks or threads: the core takes ticks, authorized
// messages and proposals, and hands back a Ready batch. The runner must, in
// this order:
//   1. persist: received snapshot chunks, then an installed snapshot (finish
//      it, restore the state machine from it, reset the log after it), then
//      the log changes (truncate_from, then append), then hard_state; fsync;
//   2. only then send Ready::messages (a vote or an acknowledgement leaves
//      the node only after what it promises is durable), filling in the data
//      of InstallSnapshot messages from the snapshot on disk;
//   3. apply Ready::committed to the state machine, in order;
//   4. serve Ready::reads once applied that far;
//   5. tell the core how far its log is durable (log_durable).
// A runner may instead sync the appended entries in the background (etcd's
// "asynchronous storage writes", Raft thesis §10.2.1): then only a leader's
// AppendEntries, InstallSnapshot and TimeoutNow may leave before the sync;
// everything else waits for it. The leader counts its own log toward a
// commit only as far as log_durable() says.
//
//   raft::Core core(config, recovered, seed);
//   core.tick();                         // every tick_ms
//   core.step(authorized_message);
//   auto p = core.propose(command);      // NotLeader{hint} unless leader
//   raft::Ready ready = core.take_ready();
//   // after writing a snapshot of the state machine at applied index A:
//   core.snapshot_taken(manifest, /*compact_through=*/A - keep);
//
// Implemented: randomized election timeouts, pre-vote, check-quorum,
// AppendEntries with the consistency check and persisted conflict
// truncation, a leader's no-op, commit only of current-term entries by
// counting, batched and pipelined replication with an in-flight window,
// ReadIndex reads, leadership transfer, log compaction behind snapshots,
// chunked InstallSnapshot checked against the manifest, membership change by
// joint consensus, learners that must catch up before promotion.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <variant>
#include <vector>

#include "consensus/raft/hard_state.h"
#include "consensus/raft/membership.h"
#include "consensus/raft/types.h"
#include "core/random.h"
#include "core/trust.h"

namespace phalanx::raft {

enum class RaftRole : std::uint8_t { kFollower, kPreCandidate, kCandidate, kLeader };
[[nodiscard]] const char* role_name(RaftRole role);

struct Config {
  NodeId id;
  // The cluster's first voters: the membership until the log or a snapshot
  // says otherwise. A node started to join an existing cluster is given the
  // same list and waits, not being in it, until the leader adds it.
  std::vector<NodeId> voters;
  std::uint32_t election_ticks_min = 10;
  std::uint32_t election_ticks_max = 20;  // timeouts drawn from [min, max)
  std::uint32_t heartbeat_ticks = 2;
  std::uint32_t entries_per_message_max = 64;
  std::uint32_t inflight_messages_max = 8;
  bool pre_vote = true;
  bool check_quorum = true;

  // Test-only: plant a known bug, to prove the simulator's checks catch it.
  bool TEST_commit_previous_term_entries = false;  // count old-term entries toward commit
  bool TEST_skip_conflict_truncation = false;      // overwrite a conflict, keep the rest
  bool TEST_read_without_quorum = false;           // serve ReadIndex reads unconfirmed
  bool TEST_commit_waits_for_all = false;          // commit only what every voter holds
};

// What a restarted replica recovered from disk.
struct Persisted {
  HardState hard_state;
  // The newest durable snapshot; the state machine was restored from it.
  std::optional<SnapshotManifest> snapshot;
  // Contiguous, starting right after the snapshot (or at index 1).
  std::vector<Entry> log;
};

// A snapshot chunk received from the leader and checked against its
// manifest: write it to the snapshot being received (chunk 0 starts a new one).
struct SnapshotChunk {
  std::optional<SnapshotManifest> manifest;  // chunk 0 only
  std::uint64_t index = 0;
  Bytes data;
};

// A linearizable read the leader has confirmed: serve it from the state
// machine once it has applied `index`.
struct ReadyRead {
  std::uint64_t request_id;
  LogIndex index;
};

struct Ready {
  std::vector<SnapshotChunk> snapshot_chunks;  // persist first, in order
  // The received snapshot is complete: finish it (durable, root checked),
  // restore the state machine from it, and restart the log after its last
  // index (Wal::reset with its last entry hash). The in-memory log is gone.
  std::optional<SnapshotManifest> snapshot_installed;
  std::optional<LogIndex> truncate_from;  // drop entries >= this
  std::vector<Entry> append;              // then append these
  std::optional<HardState> hard_state;    // persist if set
  std::vector<Message> messages;          // send after persisting
  std::vector<Entry> committed;           // apply after persisting
  std::vector<ReadyRead> reads;           // serve after applying up to index

  [[nodiscard]] bool empty() const {
    return snapshot_chunks.empty() && !snapshot_installed && !hard_state && !truncate_from &&
           append.empty() && messages.empty() && committed.empty() && reads.empty();
  }
};

struct NotLeader {
  std::optional<NodeId> leader_hint;
};

// Why a snapshot received from a peer was refused (counted, never applied).
enum class SnapshotRejection : std::uint8_t {
  kBadManifest,  // inconsistent with the message, its chunk hashes or its root
  kBadChunk,     // the chunk's hash is not the manifest's
  kOutOfOrder,   // not the chunk expected next (a duplicate or a restarted transfer)
};

class Core {
 public:
  // REQUIRES: election_ticks_min < max; heartbeat_ticks < election_ticks_min;
  // persisted.log contiguous after the snapshot; the snapshot's membership
  // and every config entry decode (a runner checks with Membership::decode
  // before trusting its disk).
  Core(Config config, Persisted persisted, std::uint64_t rng_seed);

  void tick();
  // REQUIRES: message.value().to == id().
  void step(const Authorized<Message>& message);
  // Leader only: appends the command to the log and starts replicating it.
  [[nodiscard]] std::variant<LogIndex, NotLeader> propose(Bytes command);
  // Leader only: a linearizable read without a log entry (ReadIndex, Raft
  // thesis §6.4). The read index is the commit index once this term has
  // committed an entry; it is released in Ready::reads after a quorum has
  // answered a heartbeat sent after the call. Reads are batched: one round
  // of heartbeats at a time, started at the next take_ready(), carries every
  // read that arrived before it. Dropped if leadership is lost (the client
  // retries).
  [[nodiscard]] std::optional<NotLeader> read_index(std::uint64_t request_id);
  // Leader only: hand leadership to `target` (Raft thesis §3.10). Proposals
  // are refused meanwhile (NotLeader with the target as hint); the target is
  // brought up to date, then told to campaign at once. Abandoned if it has
  // not happened within election_ticks_min ticks.
  // kInvalidArgument unless this node leads and `target` is another voter.
  [[nodiscard]] Status transfer_leadership(NodeId target);
  [[nodiscard]] std::optional<NodeId> transferring_to() const { return transfer_target_; }

  // Leader only: change the voters and learners. A change of voters goes
  // through a joint configuration (both majorities needed), and the leader
  // appends the final one as soon as the joint one commits. Learners join
  // and leave in one step. Returns the index of the config entry.
  // kInvalidArgument when: not the leader; this term has not committed an
  // entry yet; a change is still in progress (joint or uncommitted); the
  // result is invalid; or a new voter is not a learner whose log has
  // caught up with the commit index.
  [[nodiscard]] Result<LogIndex> change_membership(std::vector<NodeId> voters,
                                                   std::vector<NodeId> learners);
  [[nodiscard]] const Membership& membership() const;
  // The membership in effect at `index` (base_index() <= index <= last_index()).
  [[nodiscard]] const Membership& membership_at(LogIndex index) const;

  // The runner wrote a durable snapshot of the state machine at
  // manifest.meta.last_index; followers that need it get this one from now
  // on. Entries up to `compact_through` are dropped from memory (the runner
  // compacts its log as it likes, but never past a durable snapshot).
  // REQUIRES: base_index() <= last_index <= applied_index(); last_term and
  // membership as in this log; base_index() <= compact_through <= last_index.
  void snapshot_taken(SnapshotManifest manifest, LogIndex compact_through);
  [[nodiscard]] const std::optional<SnapshotManifest>& snapshot() const { return snapshot_; }
  // Leader: some follower is being sent the snapshot. A new snapshot would
  // restart its transfer, so a runner may hold off taking one for a while.
  [[nodiscard]] bool sending_snapshot() const;

  [[nodiscard]] Ready take_ready();
  // The invariants every Ready leaves (take_ready() checks them; a broken one
  // stops the process before what it released can spread): base index <=
  // applied <= commit <= last index, durable <= last index, commit and term
  // never lower than at the last check, a leader voted for itself. Cheap:
  // always on, in production too.
  void check_invariants();
  // The runner's log is durable through `through` (what it persisted from
  // every Ready taken so far, and nothing it has not). A leader may commit
  // entries that are now on a quorum counting itself.
  void log_durable(LogIndex through);
  [[nodiscard]] LogIndex durable_index() const { return durable_; }

  [[nodiscard]] NodeId id() const { return config_.id; }
  [[nodiscard]] RaftRole role() const { return role_; }
  [[nodiscard]] Term term() const { return term_; }
  [[nodiscard]] std::optional<NodeId> leader() const { return leader_; }
  [[nodiscard]] LogIndex commit_index() const { return commit_; }
  [[nodiscard]] LogIndex applied_index() const { return applied_; }
  [[nodiscard]] LogIndex last_index() const { return LogIndex{base_index_.value() + log_.size()}; }
  [[nodiscard]] Term last_term() const { return term_at(last_index()); }
  // The entry before log()[0]: compacted (or 0 with term 0).
  [[nodiscard]] LogIndex base_index() const { return base_index_; }
  // Entries base_index()+1 .. last_index().
  [[nodiscard]] const std::vector<Entry>& log() const { return log_; }
  // The entry at `index`, if still held (base_index() < index <= last_index()).
  [[nodiscard]] const Entry* entry(LogIndex index) const;
  [[nodiscard]] Term term_at(LogIndex index) const;
  [[nodiscard]] std::uint64_t snapshot_rejections(SnapshotRejection why) const {
    return snapshot_rejections_[static_cast<std::size_t>(why)];
  }

 private:
  struct Progress {
    LogIndex match;
    LogIndex next{1};
    bool probing = true;               // until the first success: one message at a time
    std::uint32_t inflight = 0;        // append messages not yet answered
    bool active = false;               // heard from since the last check-quorum round
    std::uint64_t read_acked = 0;      // highest read round it has answered
    std::uint64_t snapshot_chunk = 0;  // next chunk to send when behind the log's base
  };
  struct IncomingSnapshot {
    NodeId from;
    Term term;
    SnapshotManifest manifest;
    std::uint64_t next_chunk = 0;
  };
  struct PendingRead {
    std::uint64_t request_id;
    LogIndex index;
    std::uint64_t context;
  };

  // Roles (core.cc).
  void become_follower(Term term, std::optional<NodeId> leader);
  bool start_vote_round(RaftRole role, MessageBody request, Term term);
  void become_pre_candidate();
  void become_candidate();
  void become_leader();
  void reset_election_timer();
  void set_term(Term term);

  // Elections (election.cc).
  void campaign();
  void handle_pre_vote(const Message& m, const PreVote& v);
  void handle_request_vote(const Message& m, const RequestVote& v);
  void handle_vote_reply(const Message& m, bool granted);
  [[nodiscard]] bool log_up_to_date(LogIndex last_index, Term last_term) const;
  [[nodiscard]] bool in_leader_lease() const;

  // Replication (replication.cc).
  void handle_append(const Message& m, const AppendEntries& a);
  void handle_append_reply(const Message& m, const AppendEntriesReply& r);
  void send_append(NodeId to, bool heartbeat);
  void broadcast_append(bool heartbeat);
  void maybe_advance_commit();
  // A follower answered (append or snapshot): it is active, a message less
  // is in flight, a read round may be confirmed. Null if it is no member.
  Progress* answer_from(NodeId peer, std::uint64_t read_context);
  void after_match(NodeId peer);
  void resend(NodeId peer);
  void check_quorum_round();
  void append_local(EntryKind kind, Bytes data);
  void append_entry(Entry e);
  bool note_config(const Entry& e);  // true if `e` is a config entry
  void truncate_log(LogIndex from);

  // Snapshots (snapshot.cc).
  void send_snapshot_chunk(NodeId to, Progress& p);
  void handle_install_snapshot(const Message& m, const InstallSnapshot& s);
  void handle_install_snapshot_reply(const Message& m, const InstallSnapshotReply& r);
  void install_snapshot(SnapshotManifest manifest);
  void reject_snapshot(SnapshotRejection why) {
    ++snapshot_rejections_[static_cast<std::size_t>(why)];
  }

  // Membership (membership_change.cc).
  void membership_changed();
  void maybe_finish_membership_change();
  [[nodiscard]] LogIndex membership_index() const;
  // Acks from `acks` (the leader itself included) form a quorum.
  [[nodiscard]] bool quorum_of(std::set<NodeId> acks) const;

  // Reads (read_index.cc).
  void maybe_start_reads();
  void start_reads(std::vector<std::uint64_t> request_ids);
  void confirm_reads();

  // Leadership transfer (transfer.cc).
  void maybe_send_timeout_now();
  void handle_timeout_now(const Message& m);

  void send(NodeId to, MessageBody body, std::optional<Term> term = std::nullopt);
  void persist_hard_state() { hard_state_dirty_ = true; }

  Config config_;
  Random rng_;
  RaftRole role_ = RaftRole::kFollower;
  Term term_;
  std::optional<NodeId> voted_for_;
  std::optional<NodeId> leader_;
  LogIndex base_index_;
  Term base_term_;
  std::vector<Entry> log_;
  LogIndex durable_;                               // of log_, as the runner reported it
  Membership base_membership_;                     // in effect at base_index_
  std::map<LogIndex, Membership> config_entries_;  // config entries in log_
  std::optional<SnapshotManifest> snapshot_;
  std::optional<IncomingSnapshot> incoming_;
  std::uint64_t snapshot_rejections_[3] = {};
  LogIndex commit_;
  LogIndex applied_;
  std::uint32_t election_elapsed_ = 0;
  std::uint32_t election_timeout_ = 0;
  std::uint32_t heartbeat_elapsed_ = 0;
  std::set<NodeId> votes_granted_;
  std::map<NodeId, Progress> progress_;
  std::uint64_t read_context_ = 0;
  std::optional<NodeId> transfer_target_;
  std::uint32_t transfer_elapsed_ = 0;
  bool campaign_for_transfer_ = false;
  std::vector<PendingRead> pending_reads_;  // awaiting a quorum
  // Reads not yet in a round: awaiting this term's first commit, or the end
  // of the round in flight (the next round carries them all).
  std::vector<std::uint64_t> reads_waiting_;

  // Pending output.
  bool hard_state_dirty_ = false;
  // What check_invariants() saw last: commit and term never go back.
  LogIndex checked_commit_;
  Term checked_term_;
  std::vector<SnapshotChunk> snapshot_chunks_;
  std::optional<SnapshotManifest> snapshot_installed_;
  std::optional<LogIndex> truncate_from_;
  std::vector<Entry> to_append_;
  std::vector<Message> outbox_;
  std::vector<ReadyRead> ready_reads_;
};

}  // namespace phalanx::raft
