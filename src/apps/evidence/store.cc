#include "apps/evidence/store.h"

#include <fmt/format.h>

#include <algorithm>

#include "security/verify.h"

namespace phalanx::evidence {
namespace {

// The first refusal of a signed message's author, role and signature. An
// unknown author and a bad signature get the same status (and reply text):
// the answer must not tell which ids exist.
template <class M>
std::optional<Refusal> refuse_signer(const security::TrustRegistry& registry, const M& m) {
  Result<Authenticated<M>> a = security::verify(registry, Untrusted<M>(m));
  if (!a) return Refusal{EvidenceStatus::kSignatureInvalid, std::move(a).error()};
  Result<Authorized<M>> z = security::authorize(security::Policy::standard(), std::move(*a));
  if (!z) return Refusal{EvidenceStatus::kNotPermitted, std::move(z).error()};
  return std::nullopt;
}

Refusal wrong_cluster(const Principal& author) {
  return {EvidenceStatus::kWrongCluster,
          Error(AuthenticationFailed{AuthFailure::kCredentialMismatch, author})};
}

}  // namespace

bool EvidenceStore::Chain::same_state(const Chain& o) const {
  return sequence == o.sequence && head == o.head && timestamp_ms == o.timestamp_ms &&
         block == o.block && in_block == o.in_block;
}

EvidenceStore::EvidenceStore(const security::TrustRegistry* registry, ClusterId cluster,
                             EvidenceConfig genesis)
    : registry_(registry), cluster_(cluster), config_(genesis) {
  PHALANX_ASSERT(registry_ != nullptr && config_.validate());
}

void EvidenceStore::begin_block(std::uint64_t height) {
  PHALANX_ASSERT(height >= height_);
  height_ = height;
}

std::optional<Refusal> EvidenceStore::refuse_item(const EvidenceItem& item) const {
  if (item.cluster != cluster_) return wrong_cluster(item.author());
  if (std::optional<Refusal> r = refuse_signer(*registry_, item)) return r;
  const auto it = chains_.find(item.source);
  const Chain none;
  const Chain& chain = it == chains_.end() ? none : it->second;
  if (item.sequence <= chain.sequence) {
    return Refusal{EvidenceStatus::kItemReplay,
                   Error(NonceReplay{item.author(), item.sequence, chain.sequence})};
  }
  const auto broken = [&](ChainFault fault) {
    return Refusal{EvidenceStatus::kChainBroken,
                   Error(ChainBroken{item.author(), item.sequence, chain.sequence + 1, fault})};
  };
  if (item.sequence != chain.sequence + 1) return broken(ChainFault::kGap);
  if (item.previous != chain.head) return broken(ChainFault::kPreviousMismatch);
  if (item.timestamp_ms < chain.timestamp_ms) return broken(ChainFault::kTimeBackwards);
  if (item.llr < -config_.ratio_bound || item.llr > config_.ratio_bound) {
    return Refusal{EvidenceStatus::kOutOfBounds,
                   Error(ErrorCode::kInvalidArgument,
                         fmt::format("log-likelihood ratio {} nats is beyond the bound of {} nats",
                                     to_nats(item.llr), to_nats(config_.ratio_bound)))};
  }
  if (!tally_.has_room_for(item.hypothesis, config_)) {
    return Refusal{EvidenceStatus::kTooManyHypotheses,
                   Error(ErrorCode::kInvalidArgument,
                         fmt::format("the service tracks its maximum of {} hypotheses",
                                     config_.hypotheses_max))};
  }
  if (chain.block == height_ && chain.in_block >= config_.items_per_block) {
    return Refusal{
        EvidenceStatus::kRateLimited,
        Error(RateLimitExceeded{fmt::format("{} (items per block)", item.author().to_string()),
                                config_.items_per_block})};
  }
  return std::nullopt;
}

std::optional<Refusal> EvidenceStore::refuse_change(const ConfigChange& change) const {
  if (change.cluster != cluster_) return wrong_cluster(change.author());
  if (std::optional<Refusal> r = refuse_signer(*registry_, change)) return r;
  if (change.version <= config_version_) {
    return Refusal{EvidenceStatus::kStaleConfig,
                   Error(NonceReplay{change.author(), change.version, config_version_})};
  }
  if (change.version != config_version_ + 1) {
    return Refusal{EvidenceStatus::kStaleConfig,
                   Error(ErrorCode::kInvalidArgument,
                         fmt::format("configuration version {} is not the next one ({})",
                                     change.version, config_version_ + 1))};
  }
  if (Status valid = change.config.validate(); !valid) {
    return Refusal{EvidenceStatus::kBadConfig, std::move(valid).error()};
  }
  return std::nullopt;
}

Bytes EvidenceStore::apply(LogIndex index, ByteView command) {
  PHALANX_ASSERT(index > last_applied_);
  last_applied_ = index;
  refusal_.reset();
  Result<EvidenceCommand> c = codec::decode<EvidenceCommand>(command);
  if (!c) {
    ++refusals_[std::string(status_name(EvidenceStatus::kMalformed))];
    refusal_ = c.error();
    return codec::encode(EvidenceReply{EvidenceStatus::kMalformed, c.error().to_string()});
  }
  const consensus::SessionDecision d = sessions_.check(c->client, c->sequence);
  switch (d.kind) {
    case consensus::SessionDecision::kCachedReply: return *d.reply;
    case consensus::SessionDecision::kReplay:
      return codec::encode(refused(
          {EvidenceStatus::kSessionReplay, sessions_.rejection(c->client, c->sequence, d)}));
    case consensus::SessionDecision::kTableFull:
      return codec::encode(
          refused({EvidenceStatus::kSessionsFull, sessions_.rejection(c->client, c->sequence, d)}));
    case consensus::SessionDecision::kExecute: break;
  }
  ++executed_;
  Bytes reply = codec::encode(execute(*c));
  sessions_.record(c->client, c->sequence, index, reply);
  return reply;
}

EvidenceReply EvidenceStore::refused(const Refusal& r) {
  ++refusals_[std::string(status_name(r.status))];
  refusal_ = r.error;
  std::string detail = public_message(r.error);  // every authentication failure reads the same
  if (detail.size() > kDetailBytesMax) detail.resize(kDetailBytesMax);
  return {r.status, std::move(detail)};
}

EvidenceReply EvidenceStore::execute(const EvidenceCommand& c) {
  switch (c.op) {
    case EvidenceOp::kSubmit:
      if (!c.item) return {EvidenceStatus::kMalformed, "a submit carries no item"};
      return submit(*c.item);
    case EvidenceOp::kConfigure:
      if (!c.change) return {EvidenceStatus::kMalformed, "a configure carries no change"};
      return configure(*c.change);
    case EvidenceOp::kPosterior:
    case EvidenceOp::kSources:
    case EvidenceOp::kProof:
    case EvidenceOp::kConfig: return query(c);
  }
  return {EvidenceStatus::kMalformed, "unknown operation"};
}

EvidenceReply EvidenceStore::submit(const EvidenceItem& item) {
  if (std::optional<Refusal> r = refuse_item(item)) return refused(*r);
  Chain& chain = chains_[item.source];
  chain.sequence = item.sequence;
  chain.head = item.hash();
  chain.timestamp_ms = item.timestamp_ms;
  if (chain.block != height_) {
    chain.block = height_;
    chain.in_block = 0;
  }
  ++chain.in_block;
  chain.positions.push_back(log_.size());
  if (blocks_.empty() || blocks_.back().height != height_) {
    blocks_.push_back({height_, log_.size(), 0});
  }
  ++blocks_.back().count;
  roots_.erase(height_);
  log_.push_back(item);
  tally_.add(item.source, item.hypothesis, item.llr, config_);
  EvidenceReply reply{EvidenceStatus::kOk};
  reply.posterior = tally_.posterior(item.hypothesis, config_);
  return reply;
}

EvidenceReply EvidenceStore::configure(const ConfigChange& change) {
  if (std::optional<Refusal> r = refuse_change(change)) return refused(*r);
  config_ = change.config;
  config_version_ = change.version;
  EvidenceReply reply{EvidenceStatus::kOk};
  reply.config = config_;
  reply.config_version = config_version_;
  return reply;
}

EvidenceReply EvidenceStore::query(const EvidenceCommand& c) const {
  EvidenceReply reply{EvidenceStatus::kOk};
  switch (c.op) {
    case EvidenceOp::kPosterior:
      reply.posterior = tally_.posterior(c.hypothesis, config_);
      if (!reply.posterior->log_odds) {
        reply.status = EvidenceStatus::kInsufficientEvidence;
        reply.detail = fmt::format("{} of the {} distinct sources needed", reply.posterior->sources,
                                   config_.min_sources);
      }
      return reply;
    case EvidenceOp::kSources: reply.sources = sources(); return reply;
    case EvidenceOp::kProof: {
      Result<ItemProof> proof = prove(c.proof_source, c.proof_sequence);
      if (!proof) return {EvidenceStatus::kNotFound, proof.error().message()};
      reply.proof = std::move(*proof);
      return reply;
    }
    case EvidenceOp::kConfig:
      reply.config = config_;
      reply.config_version = config_version_;
      return reply;
    case EvidenceOp::kSubmit:
    case EvidenceOp::kConfigure: break;
  }
  return {EvidenceStatus::kMalformed, "not a read-only operation"};
}

std::vector<SourceStanding> EvidenceStore::sources() const {
  std::vector<SourceStanding> out;
  for (const security::RegistryEntry& e : registry_->entries()) {
    if (e.role != Role::kEvidenceSource || out.size() == kSourcesMax) continue;
    const ClientId id{e.principal.id};
    SourceStanding s;
    s.source = id;
    if (const auto it = chains_.find(id); it != chains_.end()) {
      s.sequence = it->second.sequence;
      s.head = it->second.head;
      s.timestamp_ms = it->second.timestamp_ms;
      s.accepted = it->second.positions.size();
    }
    s.reputation = tally_.reputation(id);
    s.penalized = tally_.penalized(id);
    out.push_back(s);
  }
  return out;
}

crypto::Hash32 EvidenceStore::block_root(std::size_t block) const {
  const Block& b = blocks_[block];
  if (const auto it = roots_.find(b.height); it != roots_.end()) return it->second;
  std::vector<crypto::Hash32> leaves;
  leaves.reserve(b.count);
  for (std::uint64_t i = b.first; i < b.first + b.count; ++i) {
    leaves.push_back(crypto::merkle_leaf_hash(codec::encode(log_[i])));
  }
  const crypto::Hash32 root = crypto::MerkleTree::from_leaf_hashes(std::move(leaves)).root();
  roots_.emplace(b.height, root);
  return root;
}

std::vector<crypto::Hash32> EvidenceStore::block_leaf_hashes() const {
  std::vector<crypto::Hash32> leaves;
  leaves.reserve(blocks_.size());
  for (std::size_t i = 0; i < blocks_.size(); ++i) {
    leaves.push_back(
        crypto::merkle_leaf_hash(block_leaf(blocks_[i].height, blocks_[i].count, block_root(i))));
  }
  return leaves;
}

Result<ItemProof> EvidenceStore::prove(ClientId source, std::uint64_t sequence) const {
  const auto chain = chains_.find(source);
  if (chain == chains_.end() || sequence == 0 || sequence > chain->second.positions.size()) {
    return fail(ErrorCode::kNotFound,
                fmt::format("no item {} from source {}", sequence, source.value()));
  }
  const std::uint64_t position = chain->second.positions[sequence - 1];
  const auto block = std::upper_bound(blocks_.begin(), blocks_.end(), position,
                                      [](std::uint64_t p, const Block& b) { return p < b.first; }) -
                     1;
  const auto index = static_cast<std::size_t>(block - blocks_.begin());
  std::vector<crypto::Hash32> items;
  for (std::uint64_t i = block->first; i < block->first + block->count; ++i) {
    items.push_back(crypto::merkle_leaf_hash(codec::encode(log_[i])));
  }
  ItemProof proof;
  proof.item = log_[position];
  proof.block_height = block->height;
  proof.block_items = block->count;
  proof.item_path =
      crypto::MerkleTree::from_leaf_hashes(std::move(items)).prove(position - block->first);
  // The log tree and the rest hash once each, for the path and the digest.
  const crypto::MerkleTree log_tree = crypto::MerkleTree::from_leaf_hashes(block_leaf_hashes());
  proof.block_path = log_tree.prove(index);
  proof.rest = rest_hash();
  proof.digest = evidence_digest(log_tree.root(), proof.rest);
  return proof;
}

void EvidenceStore::encode_rest(codec::Writer& w) const {
  w.fixed(cluster_);
  config_.encode(w);
  w.varint(config_version_);
  w.varint(height_);
  w.varint(chains_.size());
  for (const auto& [source, chain] : chains_) {
    w.id(source);
    w.varint(chain.sequence);
    w.fixed(chain.head);
    w.i64(chain.timestamp_ms);
    w.varint(chain.block);
    w.varint(chain.in_block);
  }
  tally_.encode(w);
  sessions_.encode(w);
}

crypto::Hash32 EvidenceStore::rest_hash() const {
  codec::Writer w;
  encode_rest(w);
  return crypto::blake2b256(w.buffer());
}

crypto::Hash32 EvidenceStore::digest() const {
  return evidence_digest(crypto::MerkleTree::from_leaf_hashes(block_leaf_hashes()).root(),
                         rest_hash());
}

Bytes EvidenceStore::snapshot() const {
  codec::Writer w;
  w.id(last_applied_);
  encode_rest(w);
  w.varint(blocks_.size());
  for (const Block& b : blocks_) {
    w.varint(b.height);
    w.varint(b.count);
    for (std::uint64_t i = b.first; i < b.first + b.count; ++i) log_[i].encode(w);
  }
  return w.take();
}

Status EvidenceStore::restore(ByteView snapshot) {
  EvidenceStore next(registry_, cluster_, config_);
  codec::Reader r(snapshot);
  PHALANX_TRY(next.decode_state(r));
  PHALANX_TRY(r.finish());
  next.refusals_ = std::move(refusals_);
  *this = std::move(next);
  return {};
}

Status EvidenceStore::decode_state(codec::Reader& r) {
  const auto non_canonical = [&](std::size_t at) {
    return codec::Reader::malformed(MalformedReason::kNonCanonical, at);
  };
  PHALANX_ASSIGN_OR_RETURN(last_applied_, r.id<LogIndex>());
  std::size_t at = r.offset();
  PHALANX_ASSIGN_OR_RETURN(const ClusterId cluster, r.fixed<16>());
  if (cluster != cluster_) return non_canonical(at);
  at = r.offset();
  PHALANX_ASSIGN_OR_RETURN(config_, EvidenceConfig::decode(r));
  if (!config_.validate()) return non_canonical(at);
  PHALANX_ASSIGN_OR_RETURN(config_version_, r.varint());
  PHALANX_ASSIGN_OR_RETURN(height_, r.varint());
  PHALANX_ASSIGN_OR_RETURN(const std::uint64_t chains, r.varint_max(r.remaining()));
  std::map<ClientId, Chain> stated;
  for (std::uint64_t i = 0; i < chains; ++i) {
    at = r.offset();
    PHALANX_ASSIGN_OR_RETURN(const ClientId source, r.id<ClientId>());
    Chain c;
    PHALANX_ASSIGN_OR_RETURN(c.sequence, r.varint());
    PHALANX_ASSIGN_OR_RETURN(c.head, r.fixed<32>());
    PHALANX_ASSIGN_OR_RETURN(c.timestamp_ms, r.i64());
    PHALANX_ASSIGN_OR_RETURN(c.block, r.varint_max(height_));
    PHALANX_ASSIGN_OR_RETURN(const std::uint64_t in_block, r.varint_max(UINT32_MAX));
    c.in_block = static_cast<std::uint32_t>(in_block);
    if (!stated.empty() && source <= stated.rbegin()->first) return non_canonical(at);
    stated.emplace_hint(stated.end(), source, std::move(c));
  }
  PHALANX_ASSIGN_OR_RETURN(tally_, Tally::decode(r));
  PHALANX_ASSIGN_OR_RETURN(sessions_, consensus::SessionTable::decode(r));
  // The log, replayed against the chain rules: it must lead exactly to the
  // chains stated above.
  PHALANX_ASSIGN_OR_RETURN(const std::uint64_t blocks, r.varint_max(r.remaining()));
  for (std::uint64_t i = 0; i < blocks; ++i) {
    at = r.offset();
    Block b{0, log_.size(), 0};
    PHALANX_ASSIGN_OR_RETURN(b.height, r.varint_max(height_));
    PHALANX_ASSIGN_OR_RETURN(b.count, r.varint_max(r.remaining()));
    if (b.count == 0 || (!blocks_.empty() && b.height <= blocks_.back().height)) {
      return non_canonical(at);
    }
    for (std::uint64_t k = 0; k < b.count; ++k) {
      at = r.offset();
      PHALANX_ASSIGN_OR_RETURN(EvidenceItem item, EvidenceItem::decode(r));
      Chain& c = chains_[item.source];
      if (item.cluster != cluster_ || item.sequence != c.sequence + 1 || item.previous != c.head ||
          item.timestamp_ms < c.timestamp_ms) {
        return non_canonical(at);
      }
      c.sequence = item.sequence;
      c.head = item.hash();
      c.timestamp_ms = item.timestamp_ms;
      c.positions.push_back(log_.size());
      log_.push_back(std::move(item));
    }
    blocks_.push_back(b);
  }
  if (stated.size() != chains_.size()) return non_canonical(r.offset());
  for (auto& [source, c] : stated) {
    Chain& replayed = chains_[source];
    c.positions = std::move(replayed.positions);
    const Chain expected{replayed.sequence, replayed.head, replayed.timestamp_ms,
                         c.block,           c.in_block,    {}};
    if (!c.same_state(expected)) return non_canonical(r.offset());
    replayed = std::move(c);
  }
  return {};
}

}  // namespace phalanx::evidence
