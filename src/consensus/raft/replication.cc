// Replication: AppendEntries with the consistency check, conflict
// truncation, pipelining with an in-flight window, and the commit rule.
#include <algorithm>

#include "consensus/raft/core.h"

namespace phalanx::raft {

void Core::append_local(EntryKind kind, Bytes data) {
  Entry e{term_, last_index().next(), kind, std::move(data)};
  log_.push_back(e);
  to_append_.push_back(std::move(e));
}

void Core::send_append(NodeId to, bool heartbeat) {
  Progress& p = progress_.at(to);
  const bool window_full = p.probing ? p.inflight > 0 : p.inflight >= config_.inflight_messages_max;
  if (window_full && !heartbeat) return;
  AppendEntries a;
  a.prev_index = LogIndex{p.next.value() - 1};
  a.prev_term = term_at(a.prev_index);
  a.leader_commit = commit_;
  a.read_context = read_context_;
  const std::uint64_t end =
      std::min(last_index().value(), p.next.value() + config_.entries_per_message_max - 1);
  for (std::uint64_t i = p.next.value(); i <= end; ++i) a.entries.push_back(log_[i - 1]);
  // Pipelining: once the follower's position is known, assume delivery.
  if (!p.probing && !a.entries.empty()) p.next = LogIndex{end + 1};
  ++p.inflight;
  send(to, std::move(a));
}

void Core::broadcast_append(bool heartbeat) {
  for (auto& [peer, p] : progress_) {
    // Heartbeats reopen the window: messages lost in flight are never acknowledged.
    if (heartbeat) p.inflight = 0;
    send_append(peer, heartbeat);
  }
}

void Core::handle_append(const Message& m, const AppendEntries& a) {
  if (role_ != RaftRole::kFollower) become_follower(term_, m.from);
  leader_ = m.from;
  election_elapsed_ = 0;

  if (a.prev_index > last_index()) {
    send(m.from, AppendEntriesReply{false, LogIndex{0}, last_index().next(), a.read_context});
    return;
  }
  if (term_at(a.prev_index) != a.prev_term) {
    // Skip back over the whole conflicting term in one round trip; entries
    // up to the commit index always match.
    const Term conflict = term_at(a.prev_index);
    std::uint64_t hint = a.prev_index.value();
    while (hint > commit_.value() + 1 && term_at(LogIndex{hint - 1}) == conflict) --hint;
    send(m.from, AppendEntriesReply{false, LogIndex{0}, LogIndex{hint}, a.read_context});
    return;
  }
  for (const Entry& e : a.entries) {
    if (e.index <= last_index()) {
      if (term_at(e.index) == e.term) continue;
      // Conflict: a committed entry can never be overwritten.
      PHALANX_ASSERT(e.index > commit_);
      if (config_.TEST_skip_conflict_truncation) {
        log_[e.index.value() - 1] = e;  // the planted bug: the stale suffix stays
        to_append_.clear();
        continue;
      }
      log_.resize(e.index.value() - 1);
      if (!to_append_.empty() && e.index >= to_append_.front().index) {
        to_append_.resize(e.index.value() - to_append_.front().index.value());
      } else {
        to_append_.clear();
        truncate_from_ = std::min(truncate_from_.value_or(e.index), e.index);
      }
    }
    log_.push_back(e);
    to_append_.push_back(e);
  }
  const LogIndex match{a.prev_index.value() + a.entries.size()};
  // A reordered, older message may carry a smaller match: commit only rises.
  commit_ = std::max(commit_, std::min(a.leader_commit, match));
  send(m.from, AppendEntriesReply{true, match, LogIndex{0}, a.read_context});
}

void Core::handle_append_reply(const Message& m, const AppendEntriesReply& r) {
  const auto it = progress_.find(m.from);
  if (it == progress_.end()) return;
  Progress& p = it->second;
  p.active = true;
  if (p.inflight > 0) --p.inflight;
  // Any answer in our term, even a rejection, confirms our leadership.
  if (r.read_context > p.read_acked) {
    p.read_acked = r.read_context;
    confirm_reads();
  }
  if (r.success) {
    if (r.match_index > p.match) {
      p.match = r.match_index;
      p.next = std::max(p.next, p.match.next());
      maybe_advance_commit();
      if (transfer_target_ == m.from) maybe_send_timeout_now();
    }
    p.probing = false;
  } else {
    // The hint never lies below what the follower already matched.
    p.next = std::max(p.match.next(), std::min(r.hint_index, LogIndex{p.next.value() - 1}));
    if (p.next.value() == 0) p.next = LogIndex{1};
    p.probing = true;
    p.inflight = 0;
  }
  if (p.next <= last_index() || !r.success) send_append(m.from, false);
}

void Core::maybe_advance_commit() {
  for (std::uint64_t n = last_index().value(); n > commit_.value(); --n) {
    // Only entries of the current term are committed by counting (§5.4.2);
    // earlier ones commit with them.
    if (term_at(LogIndex{n}) != term_ && !config_.TEST_commit_previous_term_entries) break;
    std::size_t replicas = 1;  // the leader's own log
    for (const auto& [peer, p] : progress_) replicas += p.match.value() >= n ? 1 : 0;
    if (replicas >= quorum()) {
      commit_ = LogIndex{n};
      if (term_at(commit_) == term_ && !reads_before_commit_.empty()) {
        start_reads(std::move(reads_before_commit_));
        reads_before_commit_.clear();
      }
      // Followers learn the new commit index right away, not at the next heartbeat.
      for (auto& [peer, p] : progress_) {
        if (p.inflight < config_.inflight_messages_max) send_append(peer, false);
      }
      return;
    }
  }
}

void Core::check_quorum_round() {
  std::size_t active = 1;
  for (auto& [peer, p] : progress_) {
    active += p.active ? 1 : 0;
    p.active = false;
  }
  if (active < quorum()) become_follower(term_, std::nullopt);
}

}  // namespace phalanx::raft
