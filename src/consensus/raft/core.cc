// Roles, ticks, proposals and the Ready hand-off.
#include "consensus/raft/core.h"

#include <algorithm>

namespace phalanx::raft {

const char* role_name(RaftRole role) {
  switch (role) {
    case RaftRole::kFollower: return "follower";
    case RaftRole::kPreCandidate: return "pre-candidate";
    case RaftRole::kCandidate: return "candidate";
    case RaftRole::kLeader: return "leader";
  }
  return "unknown";
}

Core::Core(Config config, Persisted persisted, std::uint64_t rng_seed)
    : config_(std::move(config)),
      rng_(rng_seed),
      term_(persisted.hard_state.term),
      voted_for_(persisted.hard_state.voted_for),
      snapshot_(std::move(persisted.snapshot)) {
  PHALANX_ASSERT(config_.election_ticks_min < config_.election_ticks_max);
  PHALANX_ASSERT(config_.heartbeat_ticks < config_.election_ticks_min);
  if (snapshot_) {
    base_index_ = snapshot_->meta.last_index;
    base_term_ = Term{snapshot_->meta.last_term};
    Result<Membership> m = codec::decode<Membership>(snapshot_->meta.membership);
    PHALANX_ASSERT(m.has_value());
    base_membership_ = std::move(*m);
  } else {
    base_membership_.voters = config_.voters;
    std::sort(base_membership_.voters.begin(), base_membership_.voters.end());
    PHALANX_ASSERT(base_membership_.validate().has_value());
  }
  for (Entry& e : persisted.log) {
    PHALANX_ASSERT(e.index == last_index().next());
    note_config(e);
    log_.push_back(std::move(e));
  }
  durable_ = last_index();  // what recovery read back
  // Committed entries after the snapshot are re-applied from the log.
  commit_ = std::max(base_index_, std::min(persisted.hard_state.commit, last_index()));
  applied_ = base_index_;
  reset_election_timer();
}

Term Core::term_at(LogIndex index) const {
  if (index == base_index_) return base_term_;
  PHALANX_ASSERT(index > base_index_ && index <= last_index());
  return log_[index.value() - base_index_.value() - 1].term;
}

const Entry* Core::entry(LogIndex index) const {
  if (index <= base_index_ || index > last_index()) return nullptr;
  return &log_[index.value() - base_index_.value() - 1];
}

bool Core::note_config(const Entry& e) {
  if (e.kind != EntryKind::kConfig) return false;
  Result<Membership> m = codec::decode<Membership>(e.data);
  PHALANX_ASSERT(m.has_value());
  config_entries_[e.index] = std::move(*m);
  return true;
}

void Core::append_entry(Entry e) {
  const bool config = note_config(e);
  log_.push_back(e);
  to_append_.push_back(std::move(e));
  if (config) membership_changed();
}

// Drops entries >= from, in memory and (through Ready) on disk.
void Core::truncate_log(LogIndex from) {
  PHALANX_ASSERT(from > commit_ && from <= last_index());
  log_.resize(from.value() - base_index_.value() - 1);
  durable_ = std::min(durable_, last_index());
  if (!to_append_.empty() && from >= to_append_.front().index) {
    to_append_.resize(from.value() - to_append_.front().index.value());
  } else {
    to_append_.clear();
    truncate_from_ = std::min(truncate_from_.value_or(from), from);
  }
  const auto dropped = config_entries_.lower_bound(from);
  if (dropped != config_entries_.end()) {
    config_entries_.erase(dropped, config_entries_.end());
    membership_changed();
  }
}

void Core::send(NodeId to, MessageBody body, std::optional<Term> term) {
  outbox_.push_back(Message{config_.id, to, term.value_or(term_), std::move(body)});
}

void Core::reset_election_timer() {
  election_elapsed_ = 0;
  election_timeout_ = static_cast<std::uint32_t>(
      rng_.between(config_.election_ticks_min, config_.election_ticks_max - 1));
}

void Core::set_term(Term term) {
  PHALANX_ASSERT(term > term_);
  term_ = term;
  voted_for_.reset();
  persist_hard_state();
}

void Core::become_follower(Term term, std::optional<NodeId> leader) {
  if (term > term_) set_term(term);
  role_ = RaftRole::kFollower;
  leader_ = leader;
  progress_.clear();
  pending_reads_.clear();
  reads_waiting_.clear();
  transfer_target_.reset();
  reset_election_timer();
}

// Starts a (pre-)vote round with our own vote; true if that alone is a
// quorum (a single-voter cluster), otherwise `request` goes to every peer.
bool Core::start_vote_round(RaftRole role, MessageBody request, Term term) {
  role_ = role;
  leader_.reset();
  votes_granted_ = {config_.id};
  reset_election_timer();
  if (quorum_of(votes_granted_)) return true;
  for (NodeId peer : membership().all_voters()) {
    if (peer != config_.id) send(peer, request, term);
  }
  return false;
}

void Core::become_pre_candidate() {
  if (start_vote_round(RaftRole::kPreCandidate, PreVote{last_index(), last_term()}, term_.next())) {
    become_candidate();
  }
}

void Core::become_candidate() {
  set_term(term_.next());
  voted_for_ = config_.id;
  if (start_vote_round(RaftRole::kCandidate,
                       RequestVote{last_index(), last_term(), campaign_for_transfer_}, term_)) {
    become_leader();
  }
}

void Core::become_leader() {
  role_ = RaftRole::kLeader;
  leader_ = config_.id;
  progress_.clear();
  membership_changed();  // a Progress for every other member
  heartbeat_elapsed_ = 0;
  election_elapsed_ = 0;
  // Entries of earlier terms commit only once an entry of this term does.
  append_local(EntryKind::kNoop, {});
  broadcast_append(false);
  maybe_advance_commit();
}

void Core::tick() {
  if (role_ == RaftRole::kLeader) {
    if (transfer_target_ && ++transfer_elapsed_ >= config_.election_ticks_min) {
      transfer_target_.reset();  // the target did not take over in time
    }
    if (++heartbeat_elapsed_ >= config_.heartbeat_ticks) {
      heartbeat_elapsed_ = 0;
      broadcast_append(true);
    }
    if (config_.check_quorum && ++election_elapsed_ >= config_.election_ticks_min) {
      election_elapsed_ = 0;
      check_quorum_round();
    }
    return;
  }
  if (++election_elapsed_ < election_timeout_) return;
  if (membership().is_voter(config_.id)) {
    campaign();
  } else {
    reset_election_timer();  // learners and non-members never campaign
  }
}

void Core::step(const Authorized<Message>& authorized) {
  const Message& m = authorized.value();
  PHALANX_ASSERT(m.to == config_.id);
  if (const auto* v = std::get_if<PreVote>(&m.body)) {
    handle_pre_vote(m, *v);
    return;
  }
  if (const auto* r = std::get_if<PreVoteReply>(&m.body)) {
    if (!r->granted && m.term > term_) {
      become_follower(m.term, std::nullopt);
    } else if (r->granted && role_ == RaftRole::kPreCandidate && m.term == term_.next()) {
      handle_vote_reply(m, true);
    }
    return;
  }
  if (m.term > term_) {
    // A vote request while we hear from a live leader is a disruption
    // (a node coming back from a partition): ignore it.
    const auto* vote = std::get_if<RequestVote>(&m.body);
    if (vote != nullptr && !vote->transfer && config_.check_quorum && in_leader_lease()) {
      return;
    }
    const bool from_leader = std::holds_alternative<AppendEntries>(m.body) ||
                             std::holds_alternative<InstallSnapshot>(m.body);
    become_follower(m.term, from_leader ? std::optional<NodeId>(m.from) : std::nullopt);
  } else if (m.term < term_) {
    // Tell a stale sender about the newer term so it steps down.
    if (std::holds_alternative<AppendEntries>(m.body) ||
        std::holds_alternative<InstallSnapshot>(m.body)) {
      send(m.from, AppendEntriesReply{false, LogIndex{0}, LogIndex{0}});
    } else if (std::holds_alternative<RequestVote>(m.body)) {
      send(m.from, RequestVoteReply{false});
    }
    return;
  }
  if (const auto* v = std::get_if<RequestVote>(&m.body)) {
    handle_request_vote(m, *v);
  } else if (const auto* r = std::get_if<RequestVoteReply>(&m.body)) {
    if (role_ == RaftRole::kCandidate) handle_vote_reply(m, r->granted);
  } else if (const auto* a = std::get_if<AppendEntries>(&m.body)) {
    handle_append(m, *a);
  } else if (const auto* r = std::get_if<AppendEntriesReply>(&m.body)) {
    if (role_ == RaftRole::kLeader) handle_append_reply(m, *r);
  } else if (std::holds_alternative<TimeoutNow>(m.body)) {
    handle_timeout_now(m);
  } else if (const auto* s = std::get_if<InstallSnapshot>(&m.body)) {
    handle_install_snapshot(m, *s);
  } else if (const auto* r = std::get_if<InstallSnapshotReply>(&m.body)) {
    if (role_ == RaftRole::kLeader) handle_install_snapshot_reply(m, *r);
  }
}

std::variant<LogIndex, NotLeader> Core::propose(Bytes command) {
  if (role_ != RaftRole::kLeader) return NotLeader{leader_};
  if (transfer_target_) return NotLeader{transfer_target_};  // handing over: go there
  append_local(EntryKind::kCommand, std::move(command));
  broadcast_append(false);
  maybe_advance_commit();
  return last_index();
}

void Core::log_durable(LogIndex through) {
  durable_ = std::max(durable_, std::min(through, last_index()));
  maybe_advance_commit();
}

Ready Core::take_ready() {
  maybe_start_reads();
  Ready ready;
  ready.snapshot_chunks = std::move(snapshot_chunks_);
  snapshot_chunks_.clear();
  ready.snapshot_installed = std::move(snapshot_installed_);
  snapshot_installed_.reset();
  if (hard_state_dirty_) {
    ready.hard_state = HardState{term_, voted_for_, commit_};
    hard_state_dirty_ = false;
  }
  ready.truncate_from = truncate_from_;
  truncate_from_.reset();
  ready.append = std::move(to_append_);
  to_append_.clear();
  ready.messages = std::move(outbox_);
  outbox_.clear();
  ready.reads = std::move(ready_reads_);
  ready_reads_.clear();
  for (std::uint64_t i = applied_.value() + 1; i <= commit_.value(); ++i) {
    ready.committed.push_back(*entry(LogIndex{i}));
  }
  applied_ = commit_;
  check_invariants();
  return ready;
}

void Core::check_invariants() {
  PHALANX_ASSERT(base_index_ <= applied_ && applied_ <= commit_ && commit_ <= last_index());
  PHALANX_ASSERT(durable_ <= last_index());
  PHALANX_ASSERT(commit_ >= checked_commit_ && term_ >= checked_term_);
  PHALANX_ASSERT(role_ != RaftRole::kLeader || voted_for_ == config_.id);
  checked_commit_ = commit_;
  checked_term_ = term_;
}

}  // namespace phalanx::raft
