#include "consensus/raft/types.h"

#include "core/overloaded.h"

namespace phalanx::raft {

const char* message_name(const MessageBody& body) {
  return std::visit(Overloaded{
                        [](const PreVote&) { return "PreVote"; },
                        [](const PreVoteReply&) { return "PreVoteReply"; },
                        [](const RequestVote&) { return "RequestVote"; },
                        [](const RequestVoteReply&) { return "RequestVoteReply"; },
                        [](const AppendEntries&) { return "AppendEntries"; },
                        [](const AppendEntriesReply&) { return "AppendEntriesReply"; },
                        [](const TimeoutNow&) { return "TimeoutNow"; },
                    },
                    body);
}

Action Message::action() const {
  const bool replication = std::holds_alternative<AppendEntries>(body) ||
                           std::holds_alternative<AppendEntriesReply>(body) ||
                           std::holds_alternative<TimeoutNow>(body);
  return replication ? Action::kReplicate : Action::kVote;
}

}  // namespace phalanx::raft
