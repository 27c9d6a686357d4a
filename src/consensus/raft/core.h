// The pure Raft core (crash mode). Rules and invariants: docs/protocol-raft.md.
//
// No sockets, files, clocks or threads: the core takes ticks, authorized
// messages and proposals, and hands back a Ready batch. The runner must, in
// this order:
//   1. persist Ready::hard_state and the log changes (truncate_from, then
//      append) and fsync them;
//   2. only then send Ready::messages (a vote or an acknowledgement leaves
//      the node only after what it promises is durable);
//   3. apply Ready::committed to the state machine, in order.
//
//   raft::Core core(config, recovered, seed);
//   core.tick();                         // every tick_ms
//   core.step(authorized_message);
//   auto p = core.propose(command);      // NotLeader{hint} unless leader
//   raft::Ready ready = core.take_ready();
//
// Implemented: randomized election timeouts, pre-vote, check-quorum,
// AppendEntries with the consistency check and persisted conflict
// truncation, a leader's no-op, commit only of current-term entries by
// counting, batched and pipelined replication with an in-flight window.
// ReadIndex reads, leadership transfer. Not yet: snapshots/InstallSnapshot,
// membership change, learners.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <variant>
#include <vector>

#include "consensus/raft/types.h"
#include "core/random.h"
#include "core/trust.h"
#include "storage/hard_state.h"

namespace phalanx::raft {

enum class RaftRole : std::uint8_t { kFollower, kPreCandidate, kCandidate, kLeader };
[[nodiscard]] const char* role_name(RaftRole role);

struct Config {
  NodeId id;
  std::vector<NodeId> voters;  // includes id
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
};

// What a restarted replica recovered from disk.
struct Persisted {
  storage::RaftHardState hard_state;
  std::vector<Entry> log;  // indexes 1..n, contiguous
};

// A linearizable read the leader has confirmed: serve it from the state
// machine once it has applied `index`.
struct ReadyRead {
  std::uint64_t request_id;
  LogIndex index;
};

struct Ready {
  std::optional<storage::RaftHardState> hard_state;  // persist if set
  std::optional<LogIndex> truncate_from;             // drop entries >= this, first
  std::vector<Entry> append;                         // then append these
  std::vector<Message> messages;                     // send after persisting
  std::vector<Entry> committed;                      // apply after persisting
  std::vector<ReadyRead> reads;                      // serve after applying up to index

  [[nodiscard]] bool empty() const {
    return !hard_state && !truncate_from && append.empty() && messages.empty() &&
           committed.empty() && reads.empty();
  }
};

struct NotLeader {
  std::optional<NodeId> leader_hint;
};

class Core {
 public:
  // REQUIRES: config.id in config.voters; election_ticks_min < max;
  // persisted.log contiguous from index 1.
  Core(Config config, Persisted persisted, std::uint64_t rng_seed);

  void tick();
  // REQUIRES: message.value().to == id().
  void step(const Authorized<Message>& message);
  // Leader only: appends the command to the log and starts replicating it.
  [[nodiscard]] std::variant<LogIndex, NotLeader> propose(Bytes command);
  // Leader only: a linearizable read without a log entry (ReadIndex, Raft
  // thesis §6.4). The read index is the commit index once this term has
  // committed an entry; it is released in Ready::reads after a quorum has
  // answered a heartbeat sent after the call. Dropped if leadership is lost
  // (the client retries).
  [[nodiscard]] std::optional<NotLeader> read_index(std::uint64_t request_id);
  // Leader only: hand leadership to `target` (Raft thesis §3.10). Proposals
  // are refused meanwhile (NotLeader with the target as hint); the target is
  // brought up to date, then told to campaign at once. Abandoned if it has
  // not happened within election_ticks_min ticks.
  // kInvalidArgument unless this node leads and `target` is another voter.
  [[nodiscard]] Status transfer_leadership(NodeId target);
  [[nodiscard]] std::optional<NodeId> transferring_to() const { return transfer_target_; }
  [[nodiscard]] Ready take_ready();

  [[nodiscard]] NodeId id() const { return config_.id; }
  [[nodiscard]] RaftRole role() const { return role_; }
  [[nodiscard]] Term term() const { return term_; }
  [[nodiscard]] std::optional<NodeId> leader() const { return leader_; }
  [[nodiscard]] LogIndex commit_index() const { return commit_; }
  [[nodiscard]] LogIndex applied_index() const { return applied_; }
  [[nodiscard]] LogIndex last_index() const { return LogIndex{log_.size()}; }
  [[nodiscard]] Term last_term() const { return term_at(last_index()); }
  // Index 1 is log()[0].
  [[nodiscard]] const std::vector<Entry>& log() const { return log_; }

 private:
  struct Progress {
    LogIndex match;
    LogIndex next{1};
    bool probing = true;           // until the first success: one message at a time
    std::uint32_t inflight = 0;    // append messages not yet answered
    bool active = false;           // heard from since the last check-quorum round
    std::uint64_t read_acked = 0;  // highest read round it has answered
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
  [[nodiscard]] std::size_t quorum() const { return config_.voters.size() / 2 + 1; }

  // Replication (replication.cc).
  void handle_append(const Message& m, const AppendEntries& a);
  void handle_append_reply(const Message& m, const AppendEntriesReply& r);
  void send_append(NodeId to, bool heartbeat);
  void broadcast_append(bool heartbeat);
  void maybe_advance_commit();
  void check_quorum_round();
  void append_local(EntryKind kind, Bytes data);

  // Reads (read_index.cc).
  void start_reads(std::vector<std::uint64_t> request_ids);
  void confirm_reads();

  // Leadership transfer (transfer.cc).
  void maybe_send_timeout_now();
  void handle_timeout_now(const Message& m);

  [[nodiscard]] Term term_at(LogIndex index) const;
  void send(NodeId to, MessageBody body, std::optional<Term> term = std::nullopt);
  void persist_hard_state() { hard_state_dirty_ = true; }

  Config config_;
  Random rng_;
  RaftRole role_ = RaftRole::kFollower;
  Term term_;
  std::optional<NodeId> voted_for_;
  std::optional<NodeId> leader_;
  std::vector<Entry> log_;
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
  std::vector<PendingRead> pending_reads_;          // awaiting a quorum
  std::vector<std::uint64_t> reads_before_commit_;  // awaiting this term's first commit

  // Pending output.
  bool hard_state_dirty_ = false;
  std::optional<LogIndex> truncate_from_;
  std::vector<Entry> to_append_;
  std::vector<Message> outbox_;
  std::vector<ReadyRead> ready_reads_;
};

}  // namespace phalanx::raft
