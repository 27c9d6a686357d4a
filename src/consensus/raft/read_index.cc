// ReadIndex: linearizable reads without writing to the log (Raft thesis §6.4).
//
// A read may return the state at the commit index only if, when the read
// arrived, no other leader could have committed anything newer. The leader
// (1) waits until an entry of its own term is committed, so its commit index
// is at least every earlier leader's, (2) records that commit index, and
// (3) starts a heartbeat round; once a quorum answers that round (or a later
// one), no newer leader existed when the read arrived. The runner then
// serves the read after applying up to the recorded index.
#include "consensus/raft/core.h"

namespace phalanx::raft {

std::optional<NotLeader> Core::read_index(std::uint64_t request_id) {
  if (role_ != RaftRole::kLeader) return NotLeader{leader_};
  reads_waiting_.push_back(request_id);
  return std::nullopt;
}

// One round in flight at a time: under load every round carries all the
// reads that came in while the one before it was out.
void Core::maybe_start_reads() {
  if (role_ != RaftRole::kLeader || reads_waiting_.empty() || !pending_reads_.empty()) return;
  if (term_at(commit_) != term_) return;  // (1): wait for this term's first commit
  start_reads(std::exchange(reads_waiting_, {}));
}

void Core::start_reads(std::vector<std::uint64_t> request_ids) {
  ++read_context_;
  for (std::uint64_t id : request_ids) {
    if (config_.TEST_read_without_quorum) {
      ready_reads_.push_back({id, commit_});  // the planted bug: no confirmation
    } else {
      pending_reads_.push_back({id, commit_, read_context_});
    }
  }
  if (quorum_of({})) {
    confirm_reads();
  } else if (!pending_reads_.empty()) {
    broadcast_append(true);
  }
}

void Core::confirm_reads() {
  // Reads are confirmed in order: a later round needs answers to a later
  // heartbeat, so it cannot be confirmed before an earlier one.
  std::size_t confirmed = 0;
  for (const PendingRead& r : pending_reads_) {
    std::set<NodeId> acks;
    for (const auto& [peer, p] : progress_) {
      if (p.read_acked >= r.context) acks.insert(peer);
    }
    if (!quorum_of(std::move(acks))) break;
    ready_reads_.push_back({r.request_id, r.index});
    ++confirmed;
  }
  pending_reads_.erase(pending_reads_.begin(),
                       pending_reads_.begin() + static_cast<std::ptrdiff_t>(confirmed));
  maybe_start_reads();
}

}  // namespace phalanx::raft
