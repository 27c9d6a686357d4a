// Leadership transfer (Raft thesis §3.10): the leader stops taking
// proposals, brings the target's log up to date, then sends TimeoutNow; the
// target campaigns at once, and voters set their leader lease aside for it.
#include <algorithm>

#include "consensus/raft/core.h"

namespace phalanx::raft {

Status Core::transfer_leadership(NodeId target) {
  if (role_ != RaftRole::kLeader) {
    return fail(ErrorCode::kInvalidArgument, "leadership transfer: not the leader");
  }
  if (target == config_.id || !membership().is_voter(target) || !progress_.contains(target)) {
    return fail(ErrorCode::kInvalidArgument,
                "leadership transfer: target " + target.to_string() + " is not another voter");
  }
  transfer_target_ = target;
  transfer_elapsed_ = 0;
  maybe_send_timeout_now();
  if (transfer_target_) send_append(target, true);
  return {};
}

// Sends TimeoutNow once the target holds the whole log.
void Core::maybe_send_timeout_now() {
  if (!transfer_target_) return;
  const Progress& p = progress_.at(*transfer_target_);
  if (p.match != last_index()) return;
  send(*transfer_target_, TimeoutNow{});
}

void Core::handle_timeout_now(const Message& m) {
  // Only the leader of our term may ask; a stale or forged request is ignored.
  if (role_ == RaftRole::kLeader || leader_ != m.from || !membership().is_voter(config_.id)) {
    return;
  }
  campaign_for_transfer_ = true;
  become_candidate();
  campaign_for_transfer_ = false;
}

}  // namespace phalanx::raft
