#include "consensus/bft/state_transfer.h"

// GCC 12 at -O1 with the sanitizers reports the inactive alternative of a
// moved SnapshotFetch::Step as maybe uninitialized (a known false positive).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include <algorithm>

namespace phalanx::bft {

void StateSnapshot::encode(codec::Writer& w) const {
  w.varint(height);
  w.varint(requests);
  tip.encode(w);
  schedule.encode(w);
  w.bytes(app, kAppBytesMax);
}

Result<StateSnapshot> StateSnapshot::decode(codec::Reader& r, std::vector<NodeId> replicas,
                                            ScheduleOptions options) {
  PHALANX_ASSIGN_OR_RETURN(const std::uint64_t height, r.varint());
  PHALANX_ASSIGN_OR_RETURN(const std::uint64_t requests, r.varint());
  PHALANX_ASSIGN_OR_RETURN(Block tip, Block::decode(r));
  PHALANX_ASSIGN_OR_RETURN(LeaderSchedule schedule,
                           LeaderSchedule::decode(r, std::move(replicas), options));
  PHALANX_ASSIGN_OR_RETURN(Bytes app, r.bytes(kAppBytesMax));
  return StateSnapshot{height, requests, std::move(tip), std::move(schedule), std::move(app)};
}

SnapshotFetch::SnapshotFetch(Validators validators, NodeId self, std::vector<NodeId> replicas,
                             Options options)
    : validators_(validators),
      self_(self),
      replicas_(std::move(replicas)),
      options_(options),
      last_asked_(self) {
  PHALANX_ASSERT(std::is_sorted(replicas_.begin(), replicas_.end()));
  PHALANX_ASSERT(replicas_.size() >= 2);
}

void SnapshotFetch::next_peer() {
  auto next = std::upper_bound(replicas_.begin(), replicas_.end(), last_asked_);
  if (next == replicas_.end()) next = replicas_.begin();
  if (*next == self_ && ++next == replicas_.end()) next = replicas_.begin();
  last_asked_ = *next;
  peer_ = *next;
  cert_.reset();
  manifest_.reset();
  next_chunk_ = 0;
  state_ = {};
  ahead_.clear();
  idle_ = 0;
}

SnapshotFetch::Ask SnapshotFetch::ask(std::uint64_t height, std::uint64_t chunk) {
  return Ask{*peer_, SnapshotRequest{height, chunk}};
}

std::optional<SnapshotFetch::Ask> SnapshotFetch::tick() {
  if (peer_ && ++idle_ < options_.stall_ticks) {
    if (cert_ && idle_ % options_.reask_ticks == 0) return ask(cert_->height, next_chunk_);
    return std::nullopt;
  }
  next_peer();
  return ask(0, 0);
}

void SnapshotFetch::cancel() {
  peer_.reset();
  cert_.reset();
  manifest_.reset();
  state_ = {};
  ahead_.clear();
}

void SnapshotFetch::refuse() { cancel(); }

// Chunk 0 of a certified snapshot from the replica asked: the certificate
// must verify, and the manifest must describe the certified height and be
// consistent with itself (every chunk non-empty, within bytes_max).
Status SnapshotFetch::begin(NodeId from, const SnapshotChunk& chunk) {
  const CheckpointCert& cert = *chunk.cert;
  const crypto::ChunkManifest& m = *chunk.manifest;
  PHALANX_TRY(verify_checkpoint_cert(cert, validators_));
  const bool consistent = chunk.height == cert.height && m.chunk_count >= 1 &&
                          m.total_bytes <= options_.bytes_max && m.consistent();
  if (!consistent) {
    return fail(SnapshotRefused{Principal::replica(from), cert.height, SnapshotFault::kManifest});
  }
  cert_ = cert;
  manifest_ = m;
  next_chunk_ = 0;
  state_ = {};
  ahead_.clear();
  state_.reserve(m.total_bytes);
  return {};
}

Result<SnapshotFetch::Step> SnapshotFetch::on_chunk(NodeId from, const SnapshotChunk& chunk,
                                                    std::uint64_t height) {
  if (!peer_ || from != *peer_) return Step{};
  if (chunk.cert && chunk.manifest && chunk.chunk == 0) {
    // Nothing newer than this replica's own state is worth fetching: the
    // peer has no snapshot ahead; ask the next one at once.
    if (chunk.cert->height <= height) {
      idle_ = options_.stall_ticks;
      return Step{};
    }
    if (!cert_ || cert_->height != chunk.cert->height) {
      if (Status started = begin(from, chunk); !started) {
        cancel();
        return Unexpected(std::move(started).error());
      }
    }
  }
  if (!cert_ || chunk.height != cert_->height || chunk.chunk < next_chunk_ ||
      chunk.chunk >= manifest_->chunk_count) {
    return Step{};
  }
  // A run's chunks may overtake each other: those ahead wait (at most two
  // runs' worth) and are checked when their turn comes.
  if (chunk.chunk > next_chunk_) {
    if (chunk.chunk < next_chunk_ + 2 * SnapshotRequest::kChunksPerRun) {
      ahead_.try_emplace(chunk.chunk, chunk.data);
    }
    return Step{};
  }
  const crypto::ChunkManifest& m = *manifest_;
  Bytes data = chunk.data;
  bool run_done = false;
  for (;;) {
    const bool fits = state_.size() + data.size() <= m.total_bytes;
    if (!fits || crypto::blake2b256(data) != m.chunk_hashes[next_chunk_]) {
      const std::uint64_t at = cert_->height;
      cancel();
      return fail(SnapshotRefused{Principal::replica(from), at, SnapshotFault::kChunkHash});
    }
    state_.insert(state_.end(), data.begin(), data.end());
    idle_ = 0;
    ++next_chunk_;
    // Chunk 0 comes alone; a run ends at a multiple of kChunksPerRun.
    run_done = next_chunk_ == 1 || next_chunk_ % SnapshotRequest::kChunksPerRun == 0;
    const auto waiting = ahead_.find(next_chunk_);
    if (waiting == ahead_.end()) break;
    data = std::move(waiting->second);
    ahead_.erase(waiting);
  }
  Step step;
  if (next_chunk_ < m.chunk_count) {
    // The rest of a run is on its way; the next run is asked for after its last chunk.
    if (run_done) step = Ask{*peer_, SnapshotRequest{cert_->height, next_chunk_}};
    return step;
  }
  if (state_.size() != m.total_bytes) {
    const std::uint64_t at = cert_->height;
    cancel();
    return fail(SnapshotRefused{Principal::replica(from), at, SnapshotFault::kManifest});
  }
  step = Complete{from, std::move(*cert_), std::move(*manifest_), std::move(state_)};
  cancel();
  return step;
}

}  // namespace phalanx::bft
