// Membership change by joint consensus (Raft thesis §4.3) and learners.
//
// A config entry takes effect as soon as it is in a log, committed or not.
// Changing voters from C_old to C_new goes through C_old,new: while it is
// the newest config, every decision needs majorities of both. Once it
// commits, the leader appends C_new; once that commits, a leader that is not
// in C_new steps down. Learners are added and removed in one step (they are
// never counted), and become voters only after catching up.
#include <algorithm>

#include "consensus/raft/core.h"

namespace phalanx::raft {

const Membership& Core::membership() const {
  return config_entries_.empty() ? base_membership_ : config_entries_.rbegin()->second;
}

const Membership& Core::membership_at(LogIndex index) const {
  PHALANX_ASSERT(index >= base_index_ && index <= last_index());
  const auto after = config_entries_.upper_bound(index);
  return after == config_entries_.begin() ? base_membership_ : std::prev(after)->second;
}

LogIndex Core::membership_index() const {
  return config_entries_.empty() ? base_index_ : config_entries_.rbegin()->first;
}

Result<LogIndex> Core::change_membership(std::vector<NodeId> voters, std::vector<NodeId> learners) {
  const auto refuse = [](std::string why) {
    return fail(ErrorCode::kInvalidArgument, "membership change: " + std::move(why));
  };
  if (role_ != RaftRole::kLeader) return refuse("not the leader");
  if (transfer_target_) return refuse("leadership is being transferred");
  if (term_at(commit_) != term_) return refuse("the leader has not committed an entry yet");
  const Membership& now = membership();
  if (now.joint() || membership_index() > commit_) {
    return refuse("the previous change has not finished");
  }
  std::sort(voters.begin(), voters.end());
  std::sort(learners.begin(), learners.end());
  Membership next{voters, {}, learners};
  if (Status valid = next.validate(); !valid) return refuse(valid.error().message());
  for (NodeId v : voters) {
    if (now.is_voter(v)) continue;
    if (!now.is_learner(v))
      return refuse("node " + v.to_string() + " must join as a learner first");
    const Progress& p = progress_.at(v);
    if (p.match < commit_) {
      return refuse("learner " + v.to_string() + " has not caught up (has " +
                    std::to_string(p.match.value()) + ", commit index " +
                    std::to_string(commit_.value()) + ")");
    }
  }
  if (next == now) return refuse("nothing would change");
  if (next.voters != now.voters) next.outgoing = now.voters;
  append_local(EntryKind::kConfig, codec::encode(next));
  const LogIndex at = last_index();
  broadcast_append(false);
  maybe_advance_commit();
  return at;
}

// The newest config changed (appended, truncated away, or installed).
void Core::membership_changed() {
  const Membership& m = membership();
  if (role_ == RaftRole::kLeader) {
    const std::vector<NodeId> members = m.members();
    std::erase_if(progress_, [&](const auto& kv) {
      return !std::binary_search(members.begin(), members.end(), kv.first);
    });
    if (transfer_target_ && !progress_.contains(*transfer_target_)) transfer_target_.reset();
    for (NodeId peer : members) {
      if (peer != config_.id && !progress_.contains(peer)) {
        progress_[peer] = Progress{LogIndex{0}, last_index().next(), true, 0, true};
      }
    }
  } else if (role_ != RaftRole::kFollower && !m.is_voter(config_.id)) {
    become_follower(term_, std::nullopt);
  }
}

void Core::maybe_finish_membership_change() {
  if (membership_index() > commit_) return;
  const Membership& m = membership();
  if (m.joint()) {
    append_local(EntryKind::kConfig, codec::encode(Membership{m.voters, {}, m.learners}));
  } else if (!m.is_voter(config_.id)) {
    become_follower(term_, std::nullopt);  // removed: the rest elect a leader
  }
}

}  // namespace phalanx::raft
