#include "apps/evidence/evidence.h"

#include <fmt/format.h>

#include <cmath>

#include "security/verify.h"

namespace phalanx::evidence {
namespace {

constexpr std::string_view kDigestTag = "phalanx/v1/evidence-state";

Result<Units> read_units(codec::Reader& r) { return r.i64(); }

Result<std::uint32_t> read_u32(codec::Reader& r) {
  PHALANX_ASSIGN_OR_RETURN(const std::uint64_t v, r.varint_max(UINT32_MAX));
  return static_cast<std::uint32_t>(v);
}

void encode_units_optional(codec::Writer& w, const std::optional<Units>& u) {
  w.optional(u, [](codec::Writer& out, Units v) { out.i64(v); });
}

Result<std::optional<Units>> decode_units_optional(codec::Reader& r) {
  return r.optional<Units>([](codec::Reader& in) { return in.i64(); });
}

}  // namespace

Units nats(double n) {
  return static_cast<Units>(std::llround(n * static_cast<double>(kUnitsPerNat)));
}

double to_nats(Units u) { return static_cast<double>(u) / static_cast<double>(kUnitsPerNat); }

Status check_hypothesis(const std::string& name) {
  if (name.size() > kHypothesisBytesMax) {
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("a hypothesis name is at most {} bytes (this one: {})",
                            kHypothesisBytesMax, name.size()));
  }
  if (!codec::is_valid_utf8(name)) {
    return fail(ErrorCode::kInvalidArgument, "a hypothesis name must be valid UTF-8");
  }
  return {};
}

Status check_nats(std::string_view what, double n) {
  const double max = to_nats(kLogOddsMax);
  if (!std::isfinite(n) || n < -max || n > max) {
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("{} must be a number of nats within ±{}", what, max));
  }
  return {};
}

Status EvidenceConfig::validate() const {
  const auto refuse = [](std::string_view what) {
    return fail(ErrorCode::kInvalidArgument, fmt::format("evidence configuration: {}", what));
  };
  if (resolution < 1 || resolution > kUnitsPerNat)
    return refuse("resolution must be in [1e-15, 1] nats");
  if (ratio_bound < resolution || ratio_bound > 100 * kUnitsPerNat) {
    return refuse("ratio_bound must be in [resolution, 100] nats");
  }
  if (source_clip < resolution || source_clip > 100 * kUnitsPerNat) {
    return refuse("source_clip must be in [resolution, 100] nats");
  }
  if (trim > 10'000) return refuse("trim must be at most 10000");
  if (min_sources < 2 * trim + 1) return refuse("min_sources must be at least 2·trim + 1");
  if (items_per_block < 1) return refuse("items_per_block must be at least 1");
  if (hypotheses_max < 1) return refuse("hypotheses_max must be at least 1");
  if (prior < -kLogOddsMax || prior > kLogOddsMax)
    return refuse("|prior| must be at most 1000 nats");
  return {};
}

void EvidenceConfig::encode(codec::Writer& w) const {
  w.i64(resolution);
  w.i64(ratio_bound);
  w.i64(source_clip);
  w.varint(trim);
  w.varint(min_sources);
  w.varint(items_per_block);
  w.varint(hypotheses_max);
  w.boolean(weighted);
  w.i64(prior);
}

Result<EvidenceConfig> EvidenceConfig::decode(codec::Reader& r) {
  EvidenceConfig c;
  PHALANX_ASSIGN_OR_RETURN(c.resolution, read_units(r));
  PHALANX_ASSIGN_OR_RETURN(c.ratio_bound, read_units(r));
  PHALANX_ASSIGN_OR_RETURN(c.source_clip, read_units(r));
  PHALANX_ASSIGN_OR_RETURN(c.trim, read_u32(r));
  PHALANX_ASSIGN_OR_RETURN(c.min_sources, read_u32(r));
  PHALANX_ASSIGN_OR_RETURN(c.items_per_block, read_u32(r));
  PHALANX_ASSIGN_OR_RETURN(c.hypotheses_max, read_u32(r));
  PHALANX_ASSIGN_OR_RETURN(c.weighted, r.boolean());
  PHALANX_ASSIGN_OR_RETURN(c.prior, read_units(r));
  return c;
}

crypto::Hash32 EvidenceItem::hash() const { return crypto::blake2b256(codec::encode(*this)); }

void EvidenceItem::encode_signed(codec::Writer& w) const {
  w.fixed(cluster);
  w.id(source);
  w.string(hypothesis, kHypothesisBytesMax);
  w.i64(llr);
  w.varint(sequence);
  w.fixed(previous);
  w.i64(timestamp_ms);
}

void EvidenceItem::encode(codec::Writer& w) const {
  encode_signed(w);
  w.fixed(signature);
}

Result<EvidenceItem> EvidenceItem::decode(codec::Reader& r) {
  EvidenceItem item;
  PHALANX_ASSIGN_OR_RETURN(item.cluster, r.fixed<16>());
  PHALANX_ASSIGN_OR_RETURN(item.source, r.id<ClientId>());
  PHALANX_ASSIGN_OR_RETURN(item.hypothesis, r.string(kHypothesisBytesMax));
  PHALANX_ASSIGN_OR_RETURN(item.llr, r.i64());
  PHALANX_ASSIGN_OR_RETURN(item.sequence, r.varint());
  PHALANX_ASSIGN_OR_RETURN(item.previous, r.fixed<32>());
  PHALANX_ASSIGN_OR_RETURN(item.timestamp_ms, r.i64());
  PHALANX_ASSIGN_OR_RETURN(item.signature, r.fixed<64>());
  return item;
}

void ConfigChange::encode_signed(codec::Writer& w) const {
  w.fixed(cluster);
  w.id(admin);
  w.varint(version);
  config.encode(w);
}

void ConfigChange::encode(codec::Writer& w) const {
  encode_signed(w);
  w.fixed(signature);
}

Result<ConfigChange> ConfigChange::decode(codec::Reader& r) {
  ConfigChange c;
  PHALANX_ASSIGN_OR_RETURN(c.cluster, r.fixed<16>());
  PHALANX_ASSIGN_OR_RETURN(c.admin, r.id<ClientId>());
  PHALANX_ASSIGN_OR_RETURN(c.version, r.varint());
  PHALANX_ASSIGN_OR_RETURN(c.config, EvidenceConfig::decode(r));
  PHALANX_ASSIGN_OR_RETURN(c.signature, r.fixed<64>());
  return c;
}

Action EvidenceCommand::action() const {
  switch (op) {
    case EvidenceOp::kSubmit: return Action::kSubmitEvidence;
    case EvidenceOp::kConfigure: return Action::kReconfigure;
    case EvidenceOp::kPosterior:
    case EvidenceOp::kSources:
    case EvidenceOp::kProof:
    case EvidenceOp::kConfig: return Action::kRead;
  }
  return Action::kRead;
}

// Every field is always written, so each command has one encoding.
void EvidenceCommand::encode(codec::Writer& w) const {
  w.id(client);
  w.varint(sequence);
  w.tag(op);
  w.optional(item, [](codec::Writer& out, const EvidenceItem& i) { i.encode(out); });
  w.string(hypothesis, kHypothesisBytesMax);
  w.id(proof_source);
  w.varint(proof_sequence);
  w.optional(change, [](codec::Writer& out, const ConfigChange& c) { c.encode(out); });
}

Result<EvidenceCommand> EvidenceCommand::decode(codec::Reader& r) {
  EvidenceCommand c;
  PHALANX_ASSIGN_OR_RETURN(c.client, r.id<ClientId>());
  PHALANX_ASSIGN_OR_RETURN(c.sequence, r.varint());
  PHALANX_ASSIGN_OR_RETURN(c.op, r.tag<EvidenceOp>(kEvidenceOpMax));
  PHALANX_ASSIGN_OR_RETURN(
      c.item, r.optional<EvidenceItem>([](codec::Reader& in) { return EvidenceItem::decode(in); }));
  PHALANX_ASSIGN_OR_RETURN(c.hypothesis, r.string(kHypothesisBytesMax));
  PHALANX_ASSIGN_OR_RETURN(c.proof_source, r.id<ClientId>());
  PHALANX_ASSIGN_OR_RETURN(c.proof_sequence, r.varint());
  PHALANX_ASSIGN_OR_RETURN(c.change, r.optional<ConfigChange>([](codec::Reader& in) {
    return ConfigChange::decode(in);
  }));
  return c;
}

std::string_view status_name(EvidenceStatus status) {
  switch (status) {
    case EvidenceStatus::kOk: return "ok";
    case EvidenceStatus::kMalformed: return "malformed";
    case EvidenceStatus::kSessionReplay: return "session replay";
    case EvidenceStatus::kSessionsFull: return "sessions full";
    case EvidenceStatus::kWrongCluster: return "wrong cluster";
    case EvidenceStatus::kUnknownSource: return "unknown source";
    case EvidenceStatus::kNotPermitted: return "not permitted";
    case EvidenceStatus::kSignatureInvalid: return "signature invalid";
    case EvidenceStatus::kItemReplay: return "item replay";
    case EvidenceStatus::kChainBroken: return "chain broken";
    case EvidenceStatus::kOutOfBounds: return "out of bounds";
    case EvidenceStatus::kRateLimited: return "rate limited";
    case EvidenceStatus::kTooManyHypotheses: return "too many hypotheses";
    case EvidenceStatus::kInsufficientEvidence: return "insufficient evidence";
    case EvidenceStatus::kNotFound: return "not found";
    case EvidenceStatus::kBadConfig: return "bad configuration";
    case EvidenceStatus::kStaleConfig: return "stale configuration version";
  }
  return "unknown";
}

void Posterior::encode(codec::Writer& w) const {
  w.string(hypothesis, kHypothesisBytesMax);
  w.varint(sources);
  w.varint(min_sources);
  w.varint(trimmed);
  w.i64(prior);
  encode_units_optional(w, mean);
  encode_units_optional(w, log_odds);
}

Result<Posterior> Posterior::decode(codec::Reader& r) {
  Posterior p;
  PHALANX_ASSIGN_OR_RETURN(p.hypothesis, r.string(kHypothesisBytesMax));
  PHALANX_ASSIGN_OR_RETURN(p.sources, read_u32(r));
  PHALANX_ASSIGN_OR_RETURN(p.min_sources, read_u32(r));
  PHALANX_ASSIGN_OR_RETURN(p.trimmed, read_u32(r));
  PHALANX_ASSIGN_OR_RETURN(p.prior, r.i64());
  PHALANX_ASSIGN_OR_RETURN(p.mean, decode_units_optional(r));
  PHALANX_ASSIGN_OR_RETURN(p.log_odds, decode_units_optional(r));
  return p;
}

void SourceStanding::encode(codec::Writer& w) const {
  w.id(source);
  w.varint(sequence);
  w.fixed(head);
  w.i64(timestamp_ms);
  w.varint(reputation);
  w.varint(accepted);
  w.varint(penalized);
}

Result<SourceStanding> SourceStanding::decode(codec::Reader& r) {
  SourceStanding s;
  PHALANX_ASSIGN_OR_RETURN(s.source, r.id<ClientId>());
  PHALANX_ASSIGN_OR_RETURN(s.sequence, r.varint());
  PHALANX_ASSIGN_OR_RETURN(s.head, r.fixed<32>());
  PHALANX_ASSIGN_OR_RETURN(s.timestamp_ms, r.i64());
  PHALANX_ASSIGN_OR_RETURN(const std::uint64_t reputation, r.varint_max(kReputationMax));
  s.reputation = static_cast<std::uint32_t>(reputation);
  PHALANX_ASSIGN_OR_RETURN(s.accepted, r.varint());
  PHALANX_ASSIGN_OR_RETURN(s.penalized, r.varint());
  return s;
}

void ItemProof::encode(codec::Writer& w) const {
  item.encode(w);
  w.varint(block_height);
  w.varint(block_items);
  item_path.encode(w);
  block_path.encode(w);
  w.fixed(rest);
  w.fixed(digest);
}

Result<ItemProof> ItemProof::decode(codec::Reader& r) {
  ItemProof p;
  PHALANX_ASSIGN_OR_RETURN(p.item, EvidenceItem::decode(r));
  PHALANX_ASSIGN_OR_RETURN(p.block_height, r.varint());
  PHALANX_ASSIGN_OR_RETURN(p.block_items, r.varint());
  PHALANX_ASSIGN_OR_RETURN(p.item_path, crypto::InclusionProof::decode(r));
  PHALANX_ASSIGN_OR_RETURN(p.block_path, crypto::InclusionProof::decode(r));
  PHALANX_ASSIGN_OR_RETURN(p.rest, r.fixed<32>());
  PHALANX_ASSIGN_OR_RETURN(p.digest, r.fixed<32>());
  return p;
}

crypto::Hash32 evidence_digest(const crypto::Hash32& log_root, const crypto::Hash32& rest) {
  crypto::Hasher h;
  h.update(as_view(kDigestTag)).update(log_root.view()).update(rest.view());
  return h.finish();
}

Bytes block_leaf(std::uint64_t height, std::uint64_t items, const crypto::Hash32& root) {
  codec::Writer w;
  w.varint(height);
  w.varint(items);
  w.fixed(root);
  return w.take();
}

bool verify_proof(const ItemProof& proof) {
  if (proof.item_path.tree_size != proof.block_items) return false;
  // The block root is whatever the item's path leads to; the block's leaf in
  // the log tree then pins it.
  const crypto::Hash32 leaf = crypto::merkle_leaf_hash(codec::encode(proof.item));
  const std::optional<crypto::Hash32> block_root = crypto::root_from_path(leaf, proof.item_path);
  if (!block_root) return false;
  const Bytes block = block_leaf(proof.block_height, proof.block_items, *block_root);
  const std::optional<crypto::Hash32> log_root =
      crypto::root_from_path(crypto::merkle_leaf_hash(block), proof.block_path);
  return log_root && evidence_digest(*log_root, proof.rest) == proof.digest;
}

void EvidenceReply::encode(codec::Writer& w) const {
  w.tag(status);
  w.string(detail, kDetailBytesMax);
  w.optional(posterior, [](codec::Writer& out, const Posterior& p) { p.encode(out); });
  w.sequence(std::span<const SourceStanding>(sources), kSourcesMax,
             [](codec::Writer& out, const SourceStanding& s) { s.encode(out); });
  w.optional(proof, [](codec::Writer& out, const ItemProof& p) { p.encode(out); });
  w.optional(config, [](codec::Writer& out, const EvidenceConfig& c) { c.encode(out); });
  w.varint(config_version);
}

Result<EvidenceReply> EvidenceReply::decode(codec::Reader& r) {
  EvidenceReply reply;
  PHALANX_ASSIGN_OR_RETURN(reply.status, r.tag<EvidenceStatus>(kEvidenceStatusMax));
  PHALANX_ASSIGN_OR_RETURN(reply.detail, r.string(kDetailBytesMax));
  PHALANX_ASSIGN_OR_RETURN(reply.posterior, r.optional<Posterior>([](codec::Reader& in) {
    return Posterior::decode(in);
  }));
  PHALANX_ASSIGN_OR_RETURN(reply.sources,
                           r.sequence<SourceStanding>(kSourcesMax, [](codec::Reader& in) {
                             return SourceStanding::decode(in);
                           }));
  PHALANX_ASSIGN_OR_RETURN(
      reply.proof, r.optional<ItemProof>([](codec::Reader& in) { return ItemProof::decode(in); }));
  PHALANX_ASSIGN_OR_RETURN(reply.config, r.optional<EvidenceConfig>([](codec::Reader& in) {
    return EvidenceConfig::decode(in);
  }));
  PHALANX_ASSIGN_OR_RETURN(reply.config_version, r.varint());
  return reply;
}

}  // namespace phalanx::evidence
