#include "node/bft_replica.h"

#include <fmt/format.h>

#include "consensus/bft/wire.h"
#include "core/overloaded.h"
#include "node/client_admission.h"
#include "security/verify.h"
#include "storage/atomic_file.h"
#include "storage/data_dir.h"
#include "storage/hard_state.h"

namespace phalanx::node {
namespace {

std::string evidence_dir(const std::string& data_dir) {
  return storage::join_path(data_dir, "evidence");
}

std::string snapshot_cert_path(const std::string& data_dir) {
  return storage::join_path(data_dir, "snapshot_cert");
}

// Certificates kept for snapshots written after theirs formed.
constexpr std::size_t kRecentCertsMax = 8;
// Checkpoints in a row whose snapshot is skipped while a transfer reads the
// one on disk: a peer that keeps asking delays snapshots (and compaction)
// by at most this many checkpoint intervals.
constexpr std::uint32_t kSnapshotsHeldMax = 8;

}  // namespace

void BftPacing::apply(std::chrono::milliseconds tick, bft::Config& config) const {
  const auto ticks = [&](std::chrono::milliseconds d) {
    return std::max<std::uint32_t>(1, static_cast<std::uint32_t>(d / tick));
  };
  config.round_timeout_ticks = ticks(round_timeout);
  config.round_timeout_ticks_max = backoff_max * config.round_timeout_ticks;
  config.idle_propose_ticks = ticks(idle_propose);
  config.silence_ticks = ticks(silence);
}

BftReplica::BftReplica(storage::FileSystem& fs, const security::TrustRegistry& registry,
                       BftReplicaOptions options, std::unique_ptr<consensus::StateMachine> app,
                       crypto::KeyPair key, BftReplicaHooks hooks)
    : fs_(fs),
      registry_(registry),
      options_(std::move(options)),
      app_(std::move(app)),
      reply_key_(std::move(key)),
      hooks_(std::move(hooks)),
      schedule_(options_.bft.replicas, options_.bft.schedule),
      checkpoints_(options_.bft.validators),
      fetch_(options_.bft.validators, options_.bft.id, options_.bft.replicas, options_.fetch) {}

Result<std::unique_ptr<BftReplica>> BftReplica::open(storage::FileSystem& fs,
                                                     const security::TrustRegistry& registry,
                                                     BftReplicaOptions options,
                                                     std::unique_ptr<consensus::StateMachine> app,
                                                     crypto::KeyPair key, BftReplicaHooks hooks) {
  PHALANX_ASSERT(options.bft.sync_blocks_max <= bft::kSyncBlocksMax);
  PHALANX_ASSERT(options.bft.block_bytes_max < options.wal.entry_bytes_max);
  PHALANX_ASSERT(options.checkpoint_interval > 0 && options.snapshot_chunk_bytes > 0 &&
                 options.snapshot_chunk_bytes <= bft::SnapshotChunk::kDataBytesMax);
  std::unique_ptr<BftReplica> r(new BftReplica(fs, registry, std::move(options), std::move(app),
                                               std::move(key), std::move(hooks)));
  PHALANX_TRY(storage::ensure_dir(fs, r->options_.data_dir));
  std::vector<bft::Block> recent;
  PHALANX_ASSIGN_OR_RETURN(bft::Block tip, r->recover_blocks(recent));
  PHALANX_ASSIGN_OR_RETURN(bft::SafetyData safety, r->recover_safety());
  PHALANX_TRY(r->recover_evidence());
  PHALANX_ASSIGN_OR_RETURN(std::vector<bft::Block> voted, r->recover_voted(tip));
  r->core_ = std::make_unique<bft::Core>(r->options_.bft, r->reply_key_.clone(), std::move(safety),
                                         std::move(tip), std::move(voted), r->schedule_);
  r->core_->remember(std::move(recent));
  r->seen_round_ = r->core_->round();  // a restart is no view change
  r->drive();
  return r;
}

// Restores the newest snapshot, then replays the committed blocks after it
// into the state machine. Each block must extend the one before it: the
// WAL's checksums catch torn and flipped bytes, this catches a log that is
// not one chain (or does not continue the snapshot).
Result<bft::Block> BftReplica::recover_blocks(std::vector<bft::Block>& recent) {
  PHALANX_ASSIGN_OR_RETURN(
      wal_, storage::Wal::open(fs_, storage::wal_dir(options_.data_dir), options_.wal));
  app_->clear();
  schedule_ = bft::LeaderSchedule(options_.bft.replicas, options_.bft.schedule);
  height_ = 0;
  applied_index_ = 0;
  bft::Block tip = bft::genesis_block(options_.bft.validators.epoch);
  PHALANX_ASSIGN_OR_RETURN(std::optional<std::string> snapshot,
                           storage::latest_snapshot(fs_, storage::snapshot_dir(options_.data_dir)));
  if (snapshot) {
    PHALANX_ASSIGN_OR_RETURN(tip, restore_snapshot(*snapshot));
    PHALANX_TRY(align_wal());
  }
  // Blocks from a little before the snapshot are read too (not applied):
  // the core serves the last committed_blocks_kept to replicas behind.
  const std::uint64_t base = height_;
  const std::uint64_t last = wal_->last_index().value();
  const std::uint64_t kept = options_.bft.committed_blocks_kept;
  const std::uint64_t from =
      std::max(wal_->first_index().value(), std::min(base, last > kept ? last - kept : 0));
  const bft::BlockId snapshot_tip = tip.id();
  // The block read before (its id hashed once); below the snapshot the
  // first one read has no predecessor to check.
  std::optional<bft::BlockId> last_id;
  if (from > base) last_id = snapshot_tip;
  Round last_round = tip.round;
  std::deque<bft::Block> chain;
  PHALANX_TRY(
      wal_->read_range(LogIndex{from}, wal_->last_index(), [&](storage::WalEntry&& e) -> Status {
        const std::uint64_t i = e.index.value();
        Result<bft::Block> block = codec::decode<bft::Block>(e.payload);
        std::optional<bft::BlockId> id;
        if (block) id = block->id();
        const bool fits = block && (!last_id || block->parent() == *last_id) &&
                          (i != base || *id == snapshot_tip) &&
                          (i <= base || block->round > last_round);
        if (!fits) {
          return fail(ErrorCode::kCorruption,
                      fmt::format("committed block {} does not extend the block before it", i));
        }
        last_id = id;
        last_round = block->round;
        chain.push_back(std::move(*block));
        if (i > base) apply(chain.back(), /*replaying=*/true);
        if (chain.size() > kept + 1) chain.pop_front();
        return {};
      }));
  if (chain.empty()) return tip;
  tip = std::move(chain.back());  // the tip itself is not among `recent`
  chain.pop_back();
  recent.assign(std::make_move_iterator(chain.begin()), std::make_move_iterator(chain.end()));
  return tip;
}

Result<bft::Block> BftReplica::restore_snapshot(const std::string& path) {
  PHALANX_ASSIGN_OR_RETURN(std::unique_ptr<storage::SnapshotReader> reader,
                           storage::SnapshotReader::open(fs_, path));
  Bytes bytes;
  bytes.reserve(reader->manifest().chunks.total_bytes);
  while (true) {
    PHALANX_ASSIGN_OR_RETURN(std::optional<Bytes> chunk, reader->next_chunk());
    if (!chunk) break;
    bytes.insert(bytes.end(), chunk->begin(), chunk->end());
  }
  codec::Reader r(bytes);
  Result<bft::StateSnapshot> state =
      bft::StateSnapshot::decode(r, options_.bft.replicas, options_.bft.schedule);
  if (!state || !r.finish() || state->height != reader->manifest().meta.last_index.value()) {
    return fail(ErrorCode::kCorruption, "snapshot " + path + " holds no valid state");
  }
  if (Status restored = app_->restore(state->app); !restored) {
    return fail(ErrorCode::kCorruption,
                "snapshot " + path + " is no valid state: " + restored.error().to_string());
  }
  schedule_ = std::move(state->schedule);
  height_ = state->height;
  applied_index_ = state->requests;
  const crypto::Hash32 root =
      bft::state_root(height_, state->tip.id(), applied_index_, app_->digest(), schedule_);
  snapshot_ = HeldSnapshot{height_, root, reader->manifest(), std::nullopt};
  // Its certificate, if one formed before the restart.
  PHALANX_ASSIGN_OR_RETURN(
      std::optional<Bytes> cert,
      storage::read_atomic(fs_, snapshot_cert_path(options_.data_dir), 1 << 20));
  if (cert) {
    Result<bft::CheckpointCert> c = codec::decode<bft::CheckpointCert>(*cert);
    if (!c) return fail(ErrorCode::kCorruption, "snapshot_cert does not decode");
    if (c->height == height_ && c->root == root) snapshot_->cert = std::move(*c);
  }
  return std::move(state->tip);
}

// After a crash between installing a transferred snapshot and resetting the
// WAL, the WAL ends below the snapshot: it restarts right after it.
Status BftReplica::align_wal() {
  const std::uint64_t first = wal_->first_index().value();
  if (first > height_ + 1) {
    return fail(
        ErrorCode::kCorruption,
        fmt::format("the committed blocks start at {}, after the snapshot at {}", first, height_));
  }
  if (wal_->last_index().value() < height_) {
    return wal_->reset(LogIndex{height_ + 1}, snapshot_->manifest.meta.last_entry_hash);
  }
  return {};
}

Result<bft::SafetyData> BftReplica::recover_safety() {
  const std::string path = storage::bft_state_path(options_.data_dir);
  const Epoch epoch = options_.bft.validators.epoch;
  PHALANX_ASSIGN_OR_RETURN(std::optional<bft::SafetyData> stored,
                           storage::load_hard_state<bft::SafetyData>(fs_, path));
  if (!stored) return bft::SafetyData{epoch, Round{0}, Round{0}};
  if (stored->epoch != epoch || !stored->consistent()) {
    return fail(ErrorCode::kCorruption,
                path + " holds no valid safety data for epoch " + std::to_string(epoch.value()));
  }
  return std::move(*stored);
}

Status BftReplica::recover_evidence() {
  PHALANX_ASSIGN_OR_RETURN(evidence_wal_,
                           storage::Wal::open(fs_, evidence_dir(options_.data_dir), options_.wal));
  for (std::uint64_t i = 1; i <= evidence_wal_->last_index().value(); ++i) {
    PHALANX_ASSIGN_OR_RETURN(storage::WalEntry e, evidence_wal_->read(LogIndex{i}));
    codec::Reader r(e.payload);
    Result<bft::EquivocationProof> proof = bft::decode_evidence(r);
    if (!proof || !r.finish()) {
      return fail(ErrorCode::kCorruption, fmt::format("evidence record {} does not decode", i));
    }
    evidence_.push_back(std::move(*proof));
  }
  evidence_count_ = evidence_.size();
  return {};
}

Result<std::vector<bft::Block>> BftReplica::recover_voted(const bft::Block& tip) {
  PHALANX_ASSIGN_OR_RETURN(
      voted_wal_,
      storage::Wal::open(fs_, storage::join_path(options_.data_dir, "voted"), options_.wal));
  std::vector<bft::Block> voted;
  for (std::uint64_t i = voted_wal_->first_index().value(); i <= voted_wal_->last_index().value();
       ++i) {
    if (voted_wal_->term_at(LogIndex{i}).value_or(0) <= tip.round.value()) continue;
    PHALANX_ASSIGN_OR_RETURN(storage::WalEntry e, voted_wal_->read(LogIndex{i}));
    Result<bft::Block> block = codec::decode<bft::Block>(e.payload);
    if (!block)
      return fail(ErrorCode::kCorruption, fmt::format("voted block {} does not decode", i));
    voted.push_back(std::move(*block));
  }
  return voted;
}

Status BftReplica::compact_voted(Round committed) {
  LogIndex through = voted_scanned_;
  for (std::uint64_t i = std::max(voted_scanned_.value() + 1, voted_wal_->first_index().value());
       i <= voted_wal_->last_index().value(); ++i) {
    if (voted_wal_->term_at(LogIndex{i}).value_or(0) > committed.value()) break;
    through = LogIndex{i};
  }
  if (through == voted_scanned_) return {};
  voted_scanned_ = through;
  return voted_wal_->compact_prefix(through);
}

void BftReplica::tick() {
  if (failure_) return;
  served_this_tick_ = 0;
  ++ticks_since_chunk_served_;
  core_->tick();
  maybe_fetch();
  drive();
}

void BftReplica::count(const Error& error) { ++rejected_[kind_name(error)]; }

Status BftReplica::receive(NodeId from, ByteView frame) {
  if (failure_) return {};
  Result<Authorized<bft::Envelope>> message = [&]() -> Result<Authorized<bft::Envelope>> {
    PHALANX_ASSIGN_OR_RETURN(Untrusted<bft::Envelope> m, bft::decode_envelope(frame, id()));
    PHALANX_ASSIGN_OR_RETURN(
        Authenticated<bft::Envelope> a,
        security::verify_channel(registry_, Principal::replica(from), std::move(m)));
    return security::authorize(policy_, std::move(a));
  }();
  Status delivered = [&]() -> Status {
    PHALANX_TRY(message);
    const auto& replicas = options_.bft.replicas;
    if (!std::binary_search(replicas.begin(), replicas.end(), from)) {
      return fail(AuthorizationDenied{Principal::replica(from), message->role(),
                                      message->value().action()});
    }
    const std::optional<NodeId> signer = bft::signed_by(message->value().body);
    if (signer && *signer != from) {
      return fail(
          AuthenticationFailed{AuthFailure::kCredentialMismatch, Principal::replica(*signer)});
    }
    return deliver(from, message->value().body);
  }();
  if (!delivered) {
    count(delivered.error());
    return delivered;
  }
  drive();
  return {};
}

// Signed payloads are checked against their author's key here; the core
// checks everything else (leader, certificates, requests, safety rules).
Status BftReplica::deliver(NodeId from, const bft::Payload& body) {
  return std::visit(
      Overloaded{
          [&](const bft::Block& b) -> Status {
            PHALANX_ASSIGN_OR_RETURN(auto a, security::verify(registry_, Untrusted<bft::Block>(b)));
            core_->on_proposal(a);
            return {};
          },
          [&](const bft::Vote& v) -> Status {
            PHALANX_ASSIGN_OR_RETURN(auto a, security::verify(registry_, Untrusted<bft::Vote>(v)));
            core_->on_vote(a);
            return {};
          },
          [&](const bft::Timeout& t) -> Status {
            PHALANX_ASSIGN_OR_RETURN(auto a,
                                     security::verify(registry_, Untrusted<bft::Timeout>(t)));
            core_->on_timeout(a);
            return {};
          },
          [&](const bft::SyncRequest& s) -> Status {
            core_->on_sync_request(from, s);
            return {};
          },
          [&](const bft::SyncResponse& s) -> Status {
            core_->on_sync_response(from, s);
            return {};
          },
          [&](const bft::Checkpoint& c) -> Status {
            PHALANX_ASSIGN_OR_RETURN(auto a,
                                     security::verify(registry_, Untrusted<bft::Checkpoint>(c)));
            checkpoints_.add(a.value());
            if (Status kept = absorb_checkpoints(); !kept) failure_ = std::move(kept).error();
            return {};
          },
          [&](const bft::SnapshotRequest& r) -> Status { return serve_snapshot(from, r); },
          [&](const bft::SnapshotChunk& c) -> Status { return on_snapshot_chunk(from, c); },
      },
      body);
}

void BftReplica::call(consensus::ClientHandle client, consensus::ClientCall call) {
  if (failure_) return;
  // Signed: replicas relay and order the request, and must not be able to forge one.
  const AdmissionRules rules{registry_, policy_, *app_, options_.bft.cluster,
                             RequestProof::kSignature};
  Result<Authorized<consensus::ClientRequest>> admitted =
      admit_client_request(rules, call.caller, call.request);
  if (!admitted) {
    count(admitted.error());
    const std::string why = public_message(admitted.error());  // the detail stays in the count
    out_.answers.push_back({client,
                            {call.call_id, consensus::CallOutcome::kRejected, std::nullopt,
                             Bytes(why.begin(), why.end())}});
    return;
  }
  const consensus::ClientRequest& req = admitted->value();
  waiting_[{req.client, req.sequence}].push_back({client, call.call_id});
  core_->submit(*admitted);
  drive();
}

consensus::Output BftReplica::take_output() { return std::exchange(out_, {}); }

consensus::ReplicaStatus BftReplica::status() const {
  consensus::ReplicaStatus s;
  s.mode = consensus::FaultModel::kByzantine;
  s.id = id();
  const Round round = core_->round();
  s.leader = core_->leader(round);
  s.role = *s.leader == id() ? "leader" : "replica";
  s.term = round.value();
  s.commit = LogIndex{height_};
  s.applied = LogIndex{height_};
  s.rejected = rejected_;
  s.view_changes = view_changes_;
  s.evidence = evidence_count_;
  if (checkpoint()) s.checkpoint_height = checkpoint()->height;
  for (std::size_t k = 0; k < bft::kRejectionKinds; ++k) {
    const auto kind = static_cast<bft::Rejection>(k);
    if (const std::uint64_t n = core_->rejections(kind)) s.rejected[bft::rejection_name(kind)] += n;
  }
  return s;
}

void BftReplica::drive() {
  if (const Round round = core_->round(); round != seen_round_) {
    // A round not entered by a QC for the one before was ended by a timeout.
    if (core_->high_qc().round.next() != round) ++view_changes_;
    seen_round_ = round;
  }
  bft::Ready ready = core_->take_ready();
  if (ready.empty()) return;
  if (Status persisted = persist(ready); !persisted) {
    failure_ = std::move(persisted).error();
    return;
  }
  for (bft::Message& m : ready.messages) {
    out_.messages.push_back({m.to, bft::encode_envelope({id(), m.to, std::move(m.body)})});
  }
  for (const bft::Block& b : ready.committed) apply(b, /*replaying=*/false);
  // Invariant: with every block the core committed applied, the rotation
  // the core follows is the one the applied state records (and checkpoints
  // certify). A replica whose two differ computes other leaders than its
  // peers with the same certified state: it refuses honest proposals and
  // sends its votes astray.
  if (!ready.committed.empty()) PHALANX_ASSERT(core_->schedule() == schedule_);
  if (Status kept = absorb_checkpoints(); !kept) failure_ = std::move(kept).error();
  for (const bft::EquivocationProof& p : ready.evidence) {
    if (hooks_.evidence) hooks_.evidence(p);
  }
}

// Safety data first (it covers every vote and timeout about to leave), then
// the committed blocks, then the evidence, each fsynced.
Status BftReplica::persist(const bft::Ready& ready) {
  if (const auto& s = ready.safety) {
    PHALANX_TRY(storage::save_hard_state(fs_, storage::bft_state_path(options_.data_dir), *s));
  }
  for (const bft::Block& b : ready.voted) {
    PHALANX_TRY(voted_wal_->append(b.round.value(), codec::encode(b)));
  }
  if (!ready.voted.empty()) PHALANX_TRY(voted_wal_->sync());
  for (const bft::Block& b : ready.committed) {
    PHALANX_TRY(wal_->append(b.round.value(), codec::encode(b)));
  }
  if (!ready.committed.empty()) {
    PHALANX_TRY(wal_->sync());
    PHALANX_TRY(compact_voted(ready.committed.back().round));
  }
  bool kept = false;
  for (const bft::EquivocationProof& p : ready.evidence) {
    ++evidence_count_;
    if (evidence_.size() == kEvidenceKeptMax) continue;
    codec::Writer w;
    bft::encode_evidence(w, p);
    const Bytes record = w.take();
    if (record.size() > options_.wal.entry_bytes_max) continue;  // counted, not kept
    PHALANX_TRY(evidence_wal_->append(p.round.value(), record));
    evidence_.push_back(p);
    kept = true;
  }
  if (kept) PHALANX_TRY(evidence_wal_->sync());
  return {};
}

bool BftReplica::may_execute(const consensus::ClientRequest& req) const {
  const security::RegistryEntry* signer = registry_.find(req.author());
  return signer != nullptr && policy_.permits(signer->role, app_->action(req.operation)) &&
         app_->issued_by(req.operation, req.client, req.sequence);
}

// Executes a committed block's requests in order. A request whose command
// does not name its signer's session, or asks for what the signer's role may
// not do, is not executed (every replica decides the same: the checks are
// pure). Replies are signed and sent to whoever waits.
void BftReplica::apply(const bft::Block& block, bool replaying) {
  ++height_;
  schedule_.on_commit(block);
  if (hooks_.committed) hooks_.committed(block, height_, schedule_.last_failed());
  app_->begin_block(height_);
  for (const consensus::ClientRequest& req : block.requests) {
    ++applied_index_;
    consensus::StateMachine::Applied applied;
    const bool bound = may_execute(req);
    if (bound) applied = app_->apply(LogIndex{applied_index_}, req.operation);
    if (replaying) continue;
    if (bound && !applied.executed) ++replays_answered_;
    if (hooks_.applied) hooks_.applied(req, applied.executed);
    if (applied.refused) count(*applied.refused);  // no refusal goes uncounted
    const auto waiting = waiting_.find({req.client, req.sequence});
    if (waiting == waiting_.end()) continue;
    consensus::ClientReply reply{options_.bft.cluster, id(), req.client, req.sequence,
                                 std::move(applied.reply)};
    security::sign(reply, reply_key_);
    const Bytes encoded = codec::encode(reply);
    for (const Waiting& w : waiting->second) {
      out_.answers.push_back(
          {w.client, {w.call_id, consensus::CallOutcome::kDone, std::nullopt, encoded}});
    }
    waiting_.erase(waiting);
  }
  if (replaying || height_ % options_.checkpoint_interval != 0) return;
  if (Status done = checkpoint(block); !done && !failure_) failure_ = std::move(done).error();
}

void BftReplica::send(NodeId to, bft::Payload body) {
  out_.messages.push_back({to, bft::encode_envelope({id(), to, std::move(body)})});
}

Status BftReplica::checkpoint(const bft::Block& block) {
  const bft::BlockId block_id = block.id();
  const crypto::Hash32 root =
      bft::state_root(height_, block_id, applied_index_, app_->digest(), schedule_);
  bft::Checkpoint c{options_.bft.validators.epoch, height_, block_id, root, id()};
  security::sign(c, reply_key_);
  checkpoints_.add(c);
  for (NodeId to : options_.bft.replicas) {
    if (to != id()) send(to, c);
  }
  // A transfer in progress reads the certified snapshot on disk, which the
  // new one would replace (and which stays uncertified for a while): a
  // fetcher whose snapshot takes longer than a checkpoint interval to move
  // would never finish (found by the simulator, evidence seed 2: blocks_kept
  // and checkpoint_interval 4). So while chunks are being read, up to
  // kSnapshotsHeldMax checkpoints in a row keep the old snapshot.
  const bool transfer_reading = ticks_since_chunk_served_ <= options_.fetch.stall_ticks;
  if (transfer_reading && snapshot_ && snapshot_->cert && snapshots_held_ < kSnapshotsHeldMax) {
    ++snapshots_held_;
    return {};
  }
  snapshots_held_ = 0;
  const bft::StateSnapshot state{height_, applied_index_, block, schedule_, app_->snapshot()};
  // The WAL's hash chain at the snapshot's height (phalanx audit checks the two meet).
  PHALANX_ASSIGN_OR_RETURN(const storage::WalEntry entry, wal_->read(LogIndex{height_}));
  return write_snapshot(state, codec::encode(state), root, entry.hash);
}

Status BftReplica::write_snapshot(const bft::StateSnapshot& header, ByteView state,
                                  const crypto::Hash32& root, const crypto::Hash32& entry_hash) {
  const std::uint32_t chunk_bytes = options_.snapshot_chunk_bytes;
  const storage::SnapshotMeta meta{LogIndex{header.height}, entry_hash, {}};
  PHALANX_ASSIGN_OR_RETURN(std::unique_ptr<storage::SnapshotWriter> writer,
                           storage::SnapshotWriter::create(
                               fs_, storage::snapshot_dir(options_.data_dir), meta, chunk_bytes));
  for (std::size_t off = 0; off < state.size(); off += chunk_bytes) {
    PHALANX_TRY(writer->write_chunk(
        state.subspan(off, std::min<std::size_t>(chunk_bytes, state.size() - off))));
  }
  serving_.reset();  // finish() removes the file it reads
  PHALANX_ASSIGN_OR_RETURN(storage::SnapshotManifest manifest, writer->finish());
  snapshot_ = HeldSnapshot{header.height, root, std::move(manifest), std::nullopt};
  if (const auto cert = recent_certs_.find(header.height); cert != recent_certs_.end()) {
    PHALANX_TRY(adopt_certificate(cert->second));
  }
  return {};
}

Status BftReplica::absorb_checkpoints() {
  std::vector<bft::CheckpointCert> certified = checkpoints_.take_certified();
  if (!certified.empty()) {
    PHALANX_TRY(storage::write_atomic(fs_, storage::join_path(options_.data_dir, "checkpoint"),
                                      codec::encode(certified.back())));
  }
  for (const bft::CheckpointCert& c : certified) {
    if (hooks_.certified) hooks_.certified(c);
    recent_certs_.insert_or_assign(c.height, c);
    if (recent_certs_.size() > kRecentCertsMax) recent_certs_.erase(recent_certs_.begin());
    PHALANX_TRY(adopt_certificate(c));
  }
  for (bft::Divergence& d : checkpoints_.take_divergences()) {
    if (hooks_.diverged) hooks_.diverged(d);
    if (divergences_.size() < kEvidenceKeptMax) divergences_.push_back(std::move(d));
  }
  return {};
}

// A certificate for the snapshot on disk: it is kept beside the snapshot
// (a restart can serve it at once), and the committed blocks more than
// committed_blocks_kept below it leave the WAL.
Status BftReplica::adopt_certificate(const bft::CheckpointCert& cert) {
  if (!snapshot_ || snapshot_->cert || cert.height != snapshot_->height ||
      cert.root != snapshot_->root) {
    return {};
  }
  PHALANX_TRY(
      storage::write_atomic(fs_, snapshot_cert_path(options_.data_dir), codec::encode(cert)));
  snapshot_->cert = cert;
  const std::uint64_t kept = options_.bft.committed_blocks_kept;
  if (cert.height > kept && cert.height - kept >= wal_->first_index().value()) {
    PHALANX_TRY(wal_->compact_prefix(LogIndex{cert.height - kept}));
  }
  return {};
}

}  // namespace phalanx::node
