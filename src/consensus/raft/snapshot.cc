// Log compaction and chunked InstallSnapshot (Raft thesis §5).
//
// The runner snapshots its state machine and tells the core (snapshot_taken);
// the core may then drop the entries the snapshot covers. A follower that
// needs a dropped entry gets the snapshot instead, one chunk at a time.
// Chunk 0 carries the manifest; the follower checks the manifest against
// its own root and every chunk against the manifest's hash before the
// runner writes it, and installs only when all chunks have arrived.
#include <algorithm>

#include "consensus/raft/core.h"
#include "crypto/hash.h"

namespace phalanx::raft {
namespace {

bool consistent(const SnapshotManifest& m, const InstallSnapshot& s) {
  return m.meta.last_index == s.last_index && m.meta.last_term == s.last_term &&
         m.chunks.chunk_count >= 1 && m.chunks.consistent() &&
         codec::decode<Membership>(m.meta.membership).has_value();
}

}  // namespace

void Core::snapshot_taken(SnapshotManifest manifest, LogIndex compact_through) {
  const LogIndex at = manifest.meta.last_index;
  PHALANX_ASSERT(at >= base_index_ && at <= applied_);
  PHALANX_ASSERT(manifest.meta.last_term == term_at(at));
  Result<Membership> membership = codec::decode<Membership>(manifest.meta.membership);
  PHALANX_ASSERT(membership && *membership == membership_at(at));
  PHALANX_ASSERT(compact_through >= base_index_ && compact_through <= at);
  snapshot_ = std::move(manifest);
  // A transfer in progress restarts with the new snapshot.
  for (auto& [peer, p] : progress_) p.snapshot_chunk = 0;
  if (compact_through == base_index_) return;
  Membership base = membership_at(compact_through);
  base_term_ = term_at(compact_through);
  log_.erase(log_.begin(), log_.begin() + static_cast<std::ptrdiff_t>(compact_through.value() -
                                                                      base_index_.value()));
  config_entries_.erase(config_entries_.begin(), config_entries_.upper_bound(compact_through));
  base_membership_ = std::move(base);
  base_index_ = compact_through;
}

bool Core::sending_snapshot() const {
  return std::any_of(progress_.begin(), progress_.end(), [&](const auto& kv) {
    return kv.second.next.value() - 1 < base_index_.value();
  });
}

void Core::send_snapshot_chunk(NodeId to, Progress& p) {
  PHALANX_ASSERT(snapshot_.has_value());
  if (p.snapshot_chunk >= snapshot_->chunks.chunk_count) p.snapshot_chunk = 0;
  InstallSnapshot s;
  s.last_index = snapshot_->meta.last_index;
  s.last_term = snapshot_->meta.last_term;
  s.chunk = p.snapshot_chunk;
  if (s.chunk == 0) s.manifest = snapshot_;
  s.read_context = read_context_;
  p.probing = true;  // one chunk at a time, then probe from the snapshot on
  ++p.inflight;
  send(to, std::move(s));
}

void Core::handle_install_snapshot(const Message& m, const InstallSnapshot& s) {
  if (role_ != RaftRole::kFollower) become_follower(term_, m.from);
  leader_ = m.from;
  election_elapsed_ = 0;
  const auto reply = [&](std::uint64_t next_chunk, bool done, LogIndex match) {
    send(m.from, InstallSnapshotReply{s.last_index, next_chunk, done, match, s.read_context});
  };
  if (s.last_index <= commit_) {
    // Nothing to install: our log matches the leader's up to our commit index.
    reply(0, true, commit_);
    return;
  }
  if (s.last_index <= last_index() && term_at(s.last_index) == s.last_term) {
    // Our log holds the snapshot's last entry, so it matches the leader's up
    // to there (log matching): nothing to transfer, and nothing to wipe.
    // Entries may have arrived by AppendEntries while chunks did; installing
    // now would erase entries we have acknowledged.
    incoming_.reset();
    commit_ = s.last_index;
    reply(0, true, s.last_index);
    return;
  }
  const bool same_transfer = incoming_ && incoming_->from == m.from && incoming_->term == term_ &&
                             incoming_->manifest.meta.last_index == s.last_index;
  if (s.chunk == 0 && !(same_transfer && incoming_->next_chunk > 0)) {
    if (!s.manifest || !consistent(*s.manifest, s)) {
      reject_snapshot(SnapshotRejection::kBadManifest);
      reply(0, false, LogIndex{0});
      return;
    }
    incoming_ = IncomingSnapshot{m.from, term_, *s.manifest, 0};
  } else if (!same_transfer || s.chunk != incoming_->next_chunk) {
    reject_snapshot(SnapshotRejection::kOutOfOrder);
    reply(same_transfer ? incoming_->next_chunk : 0, false, LogIndex{0});
    return;
  }
  const SnapshotManifest& manifest = incoming_->manifest;
  if (s.data.empty() || s.data.size() > crypto::kChunkBytesMax ||
      crypto::blake2b256(s.data) != manifest.chunks.chunk_hashes[s.chunk]) {
    reject_snapshot(SnapshotRejection::kBadChunk);
    reply(incoming_->next_chunk, false, LogIndex{0});
    return;
  }
  snapshot_chunks_.push_back(
      SnapshotChunk{s.chunk == 0 ? std::optional(manifest) : std::nullopt, s.chunk, s.data});
  if (++incoming_->next_chunk < manifest.chunks.chunk_count) {
    reply(incoming_->next_chunk, false, LogIndex{0});
    return;
  }
  SnapshotManifest complete = std::move(incoming_->manifest);
  incoming_.reset();
  install_snapshot(std::move(complete));
  reply(0, true, s.last_index);
}

// Replaces the whole log with the snapshot (its last entry is not in our
// log, or not with this term, so nothing after it can be kept).
void Core::install_snapshot(SnapshotManifest manifest) {
  Result<Membership> m = codec::decode<Membership>(manifest.meta.membership);
  PHALANX_ASSERT(m.has_value());
  base_index_ = manifest.meta.last_index;
  base_term_ = manifest.meta.last_term;
  base_membership_ = std::move(*m);
  log_.clear();
  durable_ = base_index_;
  config_entries_.clear();
  to_append_.clear();
  truncate_from_.reset();
  commit_ = base_index_;
  applied_ = base_index_;
  snapshot_ = manifest;
  snapshot_installed_ = std::move(manifest);
  persist_hard_state();
  membership_changed();
}

void Core::handle_install_snapshot_reply(const Message& m, const InstallSnapshotReply& r) {
  Progress* found = answer_from(m.from, r.read_context);
  if (found == nullptr) return;
  Progress& p = *found;
  if (!r.done) {
    const bool current = snapshot_ && r.last_index == snapshot_->meta.last_index;
    const std::uint64_t wanted = current ? r.next_chunk : 0;
    // An answer to a duplicate says nothing new; sending again on every
    // answer would multiply the copies in flight. Lost chunks are sent
    // again with the heartbeat.
    if (wanted == p.snapshot_chunk) return;
    p.snapshot_chunk = wanted;
    p.inflight = 0;  // copies of other chunks still in flight are moot
    resend(m.from);
    return;
  }
  p.snapshot_chunk = 0;
  const bool matched_more = r.match > p.match;
  if (matched_more) p.match = r.match;
  p.next = std::max(p.next, p.match.next());
  if (matched_more) after_match(m.from);
  resend(m.from);
}

}  // namespace phalanx::raft
