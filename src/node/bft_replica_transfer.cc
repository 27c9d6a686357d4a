// BftReplica's state transfer: deciding to fetch a certified snapshot,
// serving the one on disk chunk by chunk, and installing a fetched one
// (docs/protocol-bft.md, "State transfer").
#include "node/bft_replica.h"
#include "storage/data_dir.h"
#include "storage/snapshot.h"

namespace phalanx::node {

void BftReplica::maybe_fetch() {
  ticks_without_commit_ = height_ == height_last_tick_ ? ticks_without_commit_ + 1 : 0;
  height_last_tick_ = height_;
  const std::optional<bft::CheckpointCert>& latest = checkpoints_.latest();
  const std::uint64_t lag =
      options_.transfer_lag != 0
          ? options_.transfer_lag
          : std::max<std::uint64_t>(options_.bft.committed_blocks_kept / 2, 1);
  const bool stuck = ticks_without_commit_ >= 2 * options_.fetch.stall_ticks;
  // Certificates are broadcast once, when they form: one formed while this
  // replica was down is learned from a peer's snapshot (chunk 0 carries it),
  // asked for when block sync is stuck, as it is when the peers no longer
  // keep the blocks wanted (found by the simulator, seed 286: without that
  // replica's votes nothing committed, so no new checkpoint came).
  const bool behind =
      (latest && latest->height > height_ && (latest->height - height_ >= lag || stuck)) ||
      (stuck && core_->syncing());
  if (!behind) {
    if (fetch_.active()) fetch_.cancel();
    return;
  }
  if (std::optional<bft::SnapshotFetch::Ask> ask = fetch_.tick()) send(ask->to, ask->request);
}

// The certified snapshot on disk, chunk by chunk: the one asked for, or
// chunk 0 (with certificate and manifest) when another height is asked for.
Status BftReplica::serve_snapshot(NodeId to, const bft::SnapshotRequest& request) {
  if (!snapshot_ || !snapshot_->cert) return {};
  const HeldSnapshot& held = *snapshot_;
  const bool same =
      request.height == held.height && request.chunk < held.manifest.chunks.chunk_count;
  const std::uint64_t first = same ? request.chunk : 0;
  // Chunk 0 alone (the fetcher checks the certificate first), else the rest of the run.
  const std::uint64_t run_end =
      first == 0 ? 1
                 : std::min<std::uint64_t>(held.manifest.chunks.chunk_count,
                                           (first / bft::SnapshotRequest::kChunksPerRun + 1) *
                                               bft::SnapshotRequest::kChunksPerRun);
  for (std::uint64_t chunk = first; chunk < run_end; ++chunk) {
    if (served_this_tick_ >= options_.snapshot_chunks_per_tick) return {};
    ++served_this_tick_;
    Result<Bytes> data = [&]() -> Result<Bytes> {
      if (!serving_) {
        PHALANX_ASSIGN_OR_RETURN(
            serving_,
            storage::SnapshotReader::open(
                fs_, storage::join_path(storage::snapshot_dir(options_.data_dir),
                                        storage::snapshot_file_name(LogIndex{held.height}))));
      }
      return serving_->read_chunk(chunk);
    }();
    if (!data) {
      // This replica's own snapshot fails its checks: its disk cannot be trusted.
      failure_ = std::move(data).error();
      return {};
    }
    bft::SnapshotChunk reply{held.height, chunk, std::nullopt, std::nullopt, std::move(*data)};
    if (chunk == 0) {
      reply.cert = held.cert;
      reply.manifest = held.manifest.chunks;
    } else {
      ticks_since_chunk_served_ = 0;
    }
    ++chunks_served_;
    send(to, std::move(reply));
  }
  return {};
}

Status BftReplica::on_snapshot_chunk(NodeId from, const bft::SnapshotChunk& chunk) {
  PHALANX_ASSIGN_OR_RETURN(bft::SnapshotFetch::Step step, fetch_.on_chunk(from, chunk, height_));
  // A certificate ahead of this replica (verified by the fetch): known from
  // now on, so the fetch goes on while block sync comes and goes.
  if (chunk.cert && chunk.cert->height > height_ &&
      (!checkpoints_.latest() || checkpoints_.latest()->height < chunk.cert->height) &&
      checkpoints_.add_certificate(*chunk.cert)) {
    PHALANX_TRY(absorb_checkpoints());
  }
  if (auto* ask = std::get_if<bft::SnapshotFetch::Ask>(&step)) send(ask->to, ask->request);
  if (auto* done = std::get_if<bft::SnapshotFetch::Complete>(&step)) {
    Status installed = install(std::move(*done));
    if (!installed && installed.error().security()) {
      fetch_.refuse();
      return installed;
    }
    if (!installed) failure_ = std::move(installed).error();
  }
  return {};
}

Status BftReplica::install(bft::SnapshotFetch::Complete done) {
  const bft::CheckpointCert& cert = done.cert;
  const auto refused = [&](SnapshotFault fault) {
    return fail(SnapshotRefused{Principal::replica(done.from), cert.height, fault});
  };
  codec::Reader r(done.state);
  Result<bft::StateSnapshot> state =
      bft::StateSnapshot::decode(r, options_.bft.replicas, options_.bft.schedule);
  if (!state || !r.finish()) return refused(SnapshotFault::kState);
  if (state->height != cert.height || state->tip.id() != cert.block) {
    return refused(SnapshotFault::kStateRoot);
  }
  // Block sync got this replica there first: nothing to install.
  if (state->height <= height_ || state->tip.round <= core_->committed_tip().round) return {};
  // Restored in place and checked; on a mismatch the state before comes back.
  const Bytes before = app_->snapshot();
  if (!app_->restore(state->app)) return refused(SnapshotFault::kState);
  const crypto::Hash32 root =
      bft::state_root(state->height, cert.block, state->requests, app_->digest(), state->schedule);
  if (root != cert.root) {
    const Status back = app_->restore(before);
    PHALANX_ASSERT(back.has_value());
    return refused(SnapshotFault::kStateRoot);
  }
  // Durable before anything depends on it: the snapshot, its certificate,
  // then the WAL restarting after it (a crash in between is repaired by align_wal).
  height_ = state->height;
  applied_index_ = state->requests;
  schedule_ = state->schedule;
  // This replica's WAL restarts after the snapshot, its hash chain anchored
  // at the certified block id.
  PHALANX_TRY(write_snapshot(*state, done.state, root, cert.block));
  PHALANX_TRY(adopt_certificate(cert));
  PHALANX_TRY(wal_->reset(LogIndex{height_ + 1}, cert.block));
  PHALANX_TRY(compact_voted(state->tip.round));
  (void)checkpoints_.add_certificate(cert);
  ++snapshots_installed_;
  core_->install(std::move(state->tip), options_.TEST_install_keeps_core_schedule
                                            ? core_->schedule()
                                            : std::move(state->schedule));
  if (hooks_.installed) hooks_.installed(cert);
  return {};
}

}  // namespace phalanx::node
