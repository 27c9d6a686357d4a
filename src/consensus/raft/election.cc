// Elections: pre-vote, vote, the leader lease that keeps a partitioned
// node from disrupting a healthy leader.
#include "consensus/raft/core.h"

namespace phalanx::raft {

void Core::campaign() {
  if (config_.pre_vote) {
    become_pre_candidate();
  } else {
    become_candidate();
  }
}

bool Core::log_up_to_date(LogIndex index, Term term) const {
  return term > last_term() || (term == last_term() && index >= last_index());
}

bool Core::in_leader_lease() const {
  return leader_.has_value() && election_elapsed_ < config_.election_ticks_min;
}

void Core::handle_pre_vote(const Message& m, const PreVote& v) {
  // No state changes here, whatever the outcome.
  const bool granted = m.term > term_ && log_up_to_date(v.last_index, v.last_term) &&
                       !(config_.check_quorum && in_leader_lease());
  send(m.from, PreVoteReply{granted}, granted ? m.term : term_);
}

void Core::handle_request_vote(const Message& m, const RequestVote& v) {
  const bool can_vote = voted_for_ == m.from || (!voted_for_ && !leader_);
  const bool granted = can_vote && log_up_to_date(v.last_index, v.last_term);
  if (granted && voted_for_ != m.from) {
    voted_for_ = m.from;
    persist_hard_state();  // durable before the reply leaves (runner contract)
  }
  if (granted) election_elapsed_ = 0;
  send(m.from, RequestVoteReply{granted});
}

void Core::handle_vote_reply(const Message& m, bool granted) {
  if (!granted) return;
  votes_granted_.insert(m.from);
  if (!quorum_of(votes_granted_)) return;
  if (role_ == RaftRole::kPreCandidate) {
    become_candidate();
  } else if (role_ == RaftRole::kCandidate) {
    become_leader();
  }
}

}  // namespace phalanx::raft
