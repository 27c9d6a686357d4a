#include "node/bft_replica.h"

#include <fmt/format.h>

#include "consensus/bft/wire.h"
#include "core/overloaded.h"
#include "security/verify.h"
#include "storage/atomic_file.h"
#include "storage/data_dir.h"
#include "storage/hard_state.h"

namespace phalanx::node {
namespace {

template <class M>
Bytes encode_optional(const std::optional<M>& m) {
  return m ? codec::encode(*m) : Bytes{};
}

template <class M>
Result<std::optional<M>> decode_optional(ByteView bytes) {
  if (bytes.empty()) return std::optional<M>{};
  PHALANX_ASSIGN_OR_RETURN(M m, codec::decode<M>(bytes));
  return std::optional<M>(std::move(m));
}

std::string evidence_dir(const std::string& data_dir) {
  return storage::join_path(data_dir, "evidence");
}

}  // namespace

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
      checkpoints_(options_.bft.validators) {}

Result<std::unique_ptr<BftReplica>> BftReplica::open(storage::FileSystem& fs,
                                                     const security::TrustRegistry& registry,
                                                     BftReplicaOptions options,
                                                     std::unique_ptr<consensus::StateMachine> app,
                                                     crypto::KeyPair key, BftReplicaHooks hooks) {
  PHALANX_ASSERT(options.bft.sync_blocks_max <= bft::kSyncBlocksMax);
  PHALANX_ASSERT(options.bft.block_bytes_max < options.wal.entry_bytes_max);
  std::unique_ptr<BftReplica> r(new BftReplica(fs, registry, std::move(options), std::move(app),
                                               std::move(key), std::move(hooks)));
  PHALANX_TRY(storage::ensure_dir(fs, r->options_.data_dir));
  PHALANX_ASSIGN_OR_RETURN(bft::Block tip, r->recover_blocks());
  PHALANX_ASSIGN_OR_RETURN(bft::SafetyData safety, r->recover_safety());
  PHALANX_TRY(r->recover_evidence());
  PHALANX_ASSIGN_OR_RETURN(std::vector<bft::Block> voted, r->recover_voted(tip));
  r->core_ = std::make_unique<bft::Core>(r->options_.bft, r->reply_key_.clone(), std::move(safety),
                                         std::move(tip), std::move(voted), r->schedule_);
  r->drive();
  return r;
}

// Replays the committed blocks into a fresh state machine. Each block must
// extend the one before it: the WAL's checksums catch torn and flipped
// bytes, this catches a log that is not one chain.
Result<bft::Block> BftReplica::recover_blocks() {
  PHALANX_ASSIGN_OR_RETURN(
      wal_, storage::Wal::open(fs_, storage::wal_dir(options_.data_dir), options_.wal));
  app_->clear();
  schedule_ = bft::LeaderSchedule(options_.bft.replicas, options_.bft.schedule);
  bft::Block tip = bft::genesis_block(options_.bft.validators.epoch);
  PHALANX_TRY(
      wal_->read_range(LogIndex{1}, wal_->last_index(), [&](storage::WalEntry&& e) -> Status {
        Result<bft::Block> block = codec::decode<bft::Block>(e.payload);
        if (!block || block->parent() != tip.id() || block->round <= tip.round) {
          return fail(ErrorCode::kCorruption,
                      fmt::format("committed block {} does not extend the block before it",
                                  e.index.value()));
        }
        tip = std::move(*block);
        apply(tip, /*replaying=*/true);
        return {};
      }));
  return tip;
}

Result<bft::SafetyData> BftReplica::recover_safety() {
  const std::string path = storage::bft_state_path(options_.data_dir);
  const Epoch epoch = options_.bft.validators.epoch;
  PHALANX_ASSIGN_OR_RETURN(std::optional<storage::BftSafetyState> stored,
                           storage::load_hard_state<storage::BftSafetyState>(fs_, path));
  if (!stored) return bft::SafetyData{epoch, Round{0}, Round{0}};
  bft::SafetyData data{stored->epoch, stored->last_voted_round, stored->locked_round};
  auto vote = decode_optional<bft::Vote>(stored->last_vote);
  auto timeout = decode_optional<bft::Timeout>(stored->last_timeout);
  auto lock_qc = decode_optional<bft::QuorumCert>(stored->lock_qc);
  auto last_tc = decode_optional<bft::TimeoutCert>(stored->last_tc);
  if (!vote || !timeout || !lock_qc || !last_tc || data.epoch != epoch) {
    return fail(ErrorCode::kCorruption,
                path + " holds no valid safety data for epoch " + std::to_string(epoch.value()));
  }
  data.last_vote = std::move(*vote);
  data.last_timeout = std::move(*timeout);
  data.lock_qc = std::move(*lock_qc);
  data.last_tc = std::move(*last_tc);
  return data;
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
  core_->tick();
  drive();
}

void BftReplica::count(const Error& error) {
  const SecurityError* s = error.security();
  ++rejected_[s ? std::string(kind_name(*s)) : "other"];
}

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
      },
      body);
}

Result<Authenticated<consensus::ClientRequest>> BftReplica::admit(ByteView request) const {
  PHALANX_ASSIGN_OR_RETURN(Untrusted<consensus::ClientRequest> u,
                           security::decode_untrusted<consensus::ClientRequest>(request));
  PHALANX_ASSIGN_OR_RETURN(Authenticated<consensus::ClientRequest> a,
                           security::verify(registry_, std::move(u)));
  const consensus::ClientRequest& req = a.value();
  // What the request may do depends on what its command asks (a KV write,
  // evidence, a reconfiguration): the application names the action.
  const Action wanted = app_->action(req.operation);
  if (!policy_.permits(a.role(), wanted)) {
    return fail(AuthorizationDenied{a.principal(), a.role(), wanted});
  }
  if (req.cluster != options_.bft.cluster) {
    return fail(AuthenticationFailed{AuthFailure::kCredentialMismatch, a.principal()});
  }
  if (!app_->issued_by(req.operation, req.client, req.sequence)) {
    return fail(ErrorCode::kInvalidArgument,
                "the command does not name the signing client's session (client, sequence)");
  }
  return a;
}

void BftReplica::call(consensus::ClientHandle client, consensus::ClientCall call) {
  if (failure_) return;
  Result<Authenticated<consensus::ClientRequest>> admitted = admit(call.request);
  if (!admitted) {
    count(admitted.error());
    const std::string why = admitted.error().to_string();
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
  for (std::size_t k = 0; k < bft::kRejectionKinds; ++k) {
    const auto kind = static_cast<bft::Rejection>(k);
    if (const std::uint64_t n = core_->rejections(kind)) s.rejected[bft::rejection_name(kind)] += n;
  }
  return s;
}

void BftReplica::drive() {
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
  if (Status kept = absorb_checkpoints(); !kept) failure_ = std::move(kept).error();
  for (const bft::EquivocationProof& p : ready.evidence) {
    if (hooks_.evidence) hooks_.evidence(p);
  }
}

// Safety data first (it covers every vote and timeout about to leave), then
// the committed blocks, then the evidence, each fsynced.
Status BftReplica::persist(const bft::Ready& ready) {
  if (const auto& s = ready.safety) {
    const storage::BftSafetyState stored{s->epoch,
                                         s->last_voted_round,
                                         s->locked_round,
                                         encode_optional(s->last_vote),
                                         encode_optional(s->last_timeout),
                                         encode_optional(s->lock_qc),
                                         encode_optional(s->last_tc)};
    PHALANX_TRY(storage::save_hard_state(fs_, storage::bft_state_path(options_.data_dir), stored));
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
  if (!replaying && hooks_.committed) hooks_.committed(block, height_);
  app_->begin_block(height_);
  for (const consensus::ClientRequest& req : block.requests) {
    ++applied_index_;
    consensus::StateMachine::Applied applied;
    const bool bound = may_execute(req);
    if (bound) applied = app_->apply(LogIndex{applied_index_}, req.operation);
    if (replaying) continue;
    if (bound && !applied.executed) ++replays_answered_;
    if (hooks_.applied) hooks_.applied(req, applied.executed);
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
  if (!replaying && height_ % options_.checkpoint_interval == 0) checkpoint(block);
}

void BftReplica::checkpoint(const bft::Block& block) {
  bft::Checkpoint c{options_.bft.validators.epoch, height_, block.id(),
                    bft::state_root(height_, block.id(), app_->digest(), schedule_), id()};
  security::sign(c, reply_key_);
  checkpoints_.add(c);
  for (NodeId to : options_.bft.replicas) {
    if (to != id()) out_.messages.push_back({to, bft::encode_envelope({id(), to, c})});
  }
}

Status BftReplica::absorb_checkpoints() {
  std::vector<bft::CheckpointCert> certified = checkpoints_.take_certified();
  if (!certified.empty()) {
    PHALANX_TRY(storage::write_atomic(fs_, storage::join_path(options_.data_dir, "checkpoint"),
                                      codec::encode(certified.back())));
  }
  for (const bft::CheckpointCert& c : certified) {
    if (hooks_.certified) hooks_.certified(c);
  }
  for (bft::Divergence& d : checkpoints_.take_divergences()) {
    if (hooks_.diverged) hooks_.diverged(d);
    if (divergences_.size() < kEvidenceKeptMax) divergences_.push_back(std::move(d));
  }
  return {};
}

}  // namespace phalanx::node
