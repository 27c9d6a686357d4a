// Replication: AppendEntries with the consistency check, conflict
// truncation, pipelining with an in-flight window, and the commit rule.
#include <algorithm>

#include "consensus/raft/core.h"

namespace phalanx::raft {

void Core::append_local(EntryKind kind, Bytes data) {
  append_entry(Entry{term_, last_index().next(), kind, std::move(data)});
}

void Core::send_append(NodeId to, bool heartbeat) {
  Progress& p = progress_.at(to);
  const bool window_full = p.probing ? p.inflight > 0 : p.inflight >= config_.inflight_messages_max;
  if (window_full && !heartbeat) return;
  if (p.next.value() - 1 < base_index_.value()) {
    // What it needs next was compacted away: it gets the snapshot instead.
    send_snapshot_chunk(to, p);
    return;
  }
  AppendEntries a;
  a.prev_index = LogIndex{p.next.value() - 1};
  a.prev_term = term_at(a.prev_index);
  a.leader_commit = commit_;
  a.read_context = read_context_;
  const std::uint64_t end =
      std::min(last_index().value(), p.next.value() + config_.entries_per_message_max - 1);
  for (std::uint64_t i = p.next.value(); i <= end; ++i) a.entries.push_back(*entry(LogIndex{i}));
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
  const auto reply = [&](bool success, LogIndex match, LogIndex hint) {
    send(m.from, AppendEntriesReply{success, match, hint, a.read_context});
  };

  if (a.prev_index < commit_) {
    // Everything up to our commit index is already here and matches the
    // leader's (an old, reordered message, or one sent before a snapshot).
    reply(true, commit_, LogIndex{0});
    return;
  }
  if (a.prev_index > last_index()) {
    reply(false, LogIndex{0}, last_index().next());
    return;
  }
  if (term_at(a.prev_index) != a.prev_term) {
    // Skip back over the whole conflicting term in one round trip; entries
    // up to the commit index always match.
    const Term conflict = term_at(a.prev_index);
    std::uint64_t hint = a.prev_index.value();
    while (hint > commit_.value() + 1 && term_at(LogIndex{hint - 1}) == conflict) --hint;
    reply(false, LogIndex{0}, LogIndex{hint});
    return;
  }
  for (const Entry& e : a.entries) {
    // A leader never replicates a config entry that does not decode; if
    // one arrives anyway, nothing of the message is taken.
    if (e.kind == EntryKind::kConfig && !codec::decode<Membership>(e.data)) return;
  }
  for (const Entry& e : a.entries) {
    if (e.index <= last_index()) {
      if (term_at(e.index) == e.term) continue;
      if (config_.TEST_skip_conflict_truncation) {
        // The planted bug: the conflicting entry is overwritten, the stale suffix stays.
        log_[e.index.value() - base_index_.value() - 1] = e;
        to_append_.clear();
        continue;
      }
      truncate_log(e.index);  // a committed entry can never conflict (asserted)
    }
    append_entry(e);
  }
  const LogIndex match{a.prev_index.value() + a.entries.size()};
  // A reordered, older message may carry a smaller match: commit only rises.
  commit_ = std::max(commit_, std::min(a.leader_commit, match));
  reply(true, match, LogIndex{0});
}

Core::Progress* Core::answer_from(NodeId peer, std::uint64_t read_context) {
  const auto it = progress_.find(peer);
  if (it == progress_.end()) return nullptr;
  Progress& p = it->second;
  p.active = true;
  if (p.inflight > 0) --p.inflight;
  // Any answer in our term, even a rejection, confirms our leadership.
  if (read_context > p.read_acked) {
    p.read_acked = read_context;
    confirm_reads();
  }
  return &p;
}

void Core::handle_append_reply(const Message& m, const AppendEntriesReply& r) {
  Progress* found = answer_from(m.from, r.read_context);
  if (found == nullptr) return;
  Progress& p = *found;
  bool matched_more = false;
  if (r.success) {
    if (r.match_index > p.match) {
      p.match = r.match_index;
      p.next = std::max(p.next, p.match.next());
      matched_more = true;
    }
    p.probing = false;
  } else {
    // The hint never lies below what the follower already matched.
    p.next = std::max(p.match.next(), std::min(r.hint_index, LogIndex{p.next.value() - 1}));
    if (p.next.value() == 0) p.next = LogIndex{1};
    p.probing = true;
    p.inflight = 0;
  }
  const bool more = p.next <= last_index() || !r.success;
  if (matched_more) after_match(m.from);
  if (more) resend(m.from);
}

// A follower's match index rose: maybe commit, maybe hand leadership over.
void Core::after_match(NodeId peer) {
  maybe_advance_commit();
  if (role_ == RaftRole::kLeader && transfer_target_ == peer) maybe_send_timeout_now();
}

// Committing may have changed the membership (or our role): look again.
void Core::resend(NodeId peer) {
  if (role_ == RaftRole::kLeader && progress_.contains(peer)) send_append(peer, false);
}

bool Core::quorum_of(std::set<NodeId> acks) const {
  acks.insert(config_.id);  // the leader (or candidate) itself
  return membership().has_quorum(acks);
}

void Core::maybe_advance_commit() {
  if (role_ != RaftRole::kLeader) return;
  const LogIndex before = commit_;
  for (;;) {
    // The highest index a quorum holds (in both configurations while joint),
    // the leader's own log counted only as far as it is durable.
    const auto held = [this](NodeId v) {
      if (v == config_.id) return durable_;
      const auto p = progress_.find(v);
      return p != progress_.end() ? p->second.match : LogIndex{0};
    };
    LogIndex n = membership().quorum_index(held);
    if (config_.TEST_commit_waits_for_all) {
      for (NodeId v : membership().voters) n = std::min(n, held(v));
    }
    n = std::min(n, last_index());
    // Only entries of the current term are committed by counting (§5.4.2);
    // earlier ones commit with them. Terms only grow along the log, so if
    // this entry is older, so is every one below it.
    if (n <= commit_ || (term_at(n) != term_ && !config_.TEST_commit_previous_term_entries)) {
      break;
    }
    commit_ = n;
    maybe_start_reads();
    // May append the final configuration (loop again to commit it at once
    // when we alone are a quorum) or step down.
    maybe_finish_membership_change();
    if (role_ != RaftRole::kLeader) return;
  }
  if (commit_ == before) return;
  // Followers learn the new commit index right away, not at the next heartbeat.
  for (auto& [peer, p] : progress_) {
    if (p.inflight < config_.inflight_messages_max) send_append(peer, false);
  }
}

void Core::check_quorum_round() {
  std::set<NodeId> active;
  for (auto& [peer, p] : progress_) {
    if (p.active) active.insert(peer);
    p.active = false;
  }
  if (!quorum_of(std::move(active))) become_follower(term_, std::nullopt);
}

}  // namespace phalanx::raft
