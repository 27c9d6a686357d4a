// Raft entries and messages (crash mode). See docs/protocol-raft.md.
#pragma once

#include <cstdint>
#include <optional>
#include <variant>
#include <vector>

#include "core/bytes.h"
#include "core/ids.h"
#include "core/principal.h"

namespace phalanx::raft {

enum class EntryKind : std::uint8_t {
  kNoop = 0,     // appended by a new leader to commit earlier terms' entries
  kCommand = 1,  // a client command for the state machine
};

struct Entry {
  Term term;
  LogIndex index;
  EntryKind kind = EntryKind::kCommand;
  Bytes data;

  bool operator==(const Entry&) const = default;
};

// Pre-vote (Ongaro §9.6): "would you vote for me in term `term`?" Changes
// no state at the receiver, so a partitioned node cannot inflate terms.
struct PreVote {
  LogIndex last_index;
  Term last_term;
};
struct PreVoteReply {
  bool granted = false;
};
struct RequestVote {
  LogIndex last_index;
  Term last_term;
  // Sent on the leader's TimeoutNow (leadership transfer): voters set the
  // leader lease aside, since the leader itself asked for this election.
  bool transfer = false;
};
struct RequestVoteReply {
  bool granted = false;
};
struct AppendEntries {
  LogIndex prev_index;
  Term prev_term;
  std::vector<Entry> entries;
  LogIndex leader_commit;
  // ReadIndex: the leader's latest read round; echoed in the reply, which
  // proves the follower still took us for leader after that round began.
  std::uint64_t read_context = 0;
};
struct AppendEntriesReply {
  bool success = false;
  LogIndex match_index;  // success: the follower's log matches up to here
  LogIndex hint_index;   // failure: where the leader should retry from
  std::uint64_t read_context = 0;
};

// Leadership transfer: "you are up to date; start an election now".
struct TimeoutNow {};

using MessageBody = std::variant<PreVote, PreVoteReply, RequestVote, RequestVoteReply,
                                 AppendEntries, AppendEntriesReply, TimeoutNow>;

struct Message {
  NodeId from;
  NodeId to;
  // For PreVote and its reply: the term the candidate would campaign in.
  // Otherwise the sender's current term.
  Term term;
  MessageBody body;

  // For security::verify_channel / authorize: replicas talk over mutually
  // authenticated channels; elections need kVote, replication kReplicate.
  [[nodiscard]] Principal author() const { return Principal::replica(from); }
  [[nodiscard]] Action action() const;
};

[[nodiscard]] const char* message_name(const MessageBody& body);

}  // namespace phalanx::raft
