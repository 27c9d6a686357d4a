// Raft entries and messages (crash mode). See docs/protocol-raft.md.
#pragma once

#include <cstdint>
#include <optional>
#include <variant>
#include <vector>

#include "consensus/raft/snapshot_manifest.h"
#include "core/bytes.h"
#include "core/ids.h"
#include "core/principal.h"

namespace phalanx::raft {

enum class EntryKind : std::uint8_t {
  kNoop = 0,     // appended by a new leader to commit earlier terms' entries
  kCommand = 1,  // a client command for the state machine
  kConfig = 2,   // an encoded Membership; in effect from the moment it is appended
};
inline constexpr std::uint8_t kEntryKindMax = 2;

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

// One chunk of the leader's latest snapshot, for a follower whose next entry
// the leader has compacted away. Chunk 0 carries the manifest (every chunk's
// hash and their Merkle root); the follower checks each chunk against it.
// The core leaves `data` empty: the runner reads chunk `chunk` of the
// snapshot at `last_index` from disk and fills it in before sending.
struct InstallSnapshot {
  LogIndex last_index;
  Term last_term;
  std::uint64_t chunk = 0;
  std::optional<SnapshotManifest> manifest;  // chunk 0 only
  Bytes data;
  std::uint64_t read_context = 0;
};
struct InstallSnapshotReply {
  LogIndex last_index;           // of the snapshot being received
  std::uint64_t next_chunk = 0;  // the chunk the follower wants next
  bool done = false;             // installed (or not needed): its log matches up to `match`
  LogIndex match;
  std::uint64_t read_context = 0;
};

using MessageBody =
    std::variant<PreVote, PreVoteReply, RequestVote, RequestVoteReply, AppendEntries,
                 AppendEntriesReply, TimeoutNow, InstallSnapshot, InstallSnapshotReply>;

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
