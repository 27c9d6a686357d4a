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
                        [](const InstallSnapshot&) { return "InstallSnapshot"; },
                        [](const InstallSnapshotReply&) { return "InstallSnapshotReply"; },
                    },
                    body);
}

Action Message::action() const {
  const bool election =
      std::holds_alternative<PreVote>(body) || std::holds_alternative<PreVoteReply>(body) ||
      std::holds_alternative<RequestVote>(body) || std::holds_alternative<RequestVoteReply>(body);
  return election ? Action::kVote : Action::kReplicate;
}

}  // namespace phalanx::raft
