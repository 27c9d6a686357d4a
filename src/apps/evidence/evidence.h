// The evidence service's messages (docs/evidence.md).
//
// A source contributes evidence about a hypothesis as a log-likelihood ratio
// (LLR): positive supports the hypothesis, negative opposes it. Each item is
// signed by its source (domain phalanx/v1/evidence) and chained to the
// source's previous item by sequence number and hash, so the source's causal
// history can be neither forged nor reordered. Every quantity in replicated
// state is a fixed-point integer: LLRs and log-odds are counted in Units of
// 1e-15 nats.
//
//   EvidenceItem item{cluster, ClientId{7}, "bridge-cracked", nats(0.25), 1, {}, 1700000000000};
//   security::sign(item, source_key);
//   EvidenceCommand submit{ClientId{7}, 1, EvidenceOp::kSubmit, item};
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/codec.h"
#include "core/ids.h"
#include "core/principal.h"
#include "crypto/hash.h"
#include "crypto/keys.h"
#include "crypto/merkle.h"

namespace phalanx::evidence {

// Fixed point: 1 nat = 10^15 Units, so the seed's 1e-13 bias is 100 Units
// and still representable on the wire.
using Units = std::int64_t;
inline constexpr Units kUnitsPerNat = 1'000'000'000'000'000;
// Any posterior log-odds beyond ±1000 nats is reported as ±1000 nats.
inline constexpr Units kLogOddsMax = 1000 * kUnitsPerNat;

// Nearest Units to `n` nats (for tests, the CLI and docs; never in replicated state).
[[nodiscard]] Units nats(double n);
[[nodiscard]] double to_nats(Units u);

inline constexpr std::size_t kHypothesisBytesMax = 128;
// kInvalidArgument unless `name` is valid UTF-8 of at most kHypothesisBytesMax
// bytes (what the encoders assert), for names taken from a caller.
[[nodiscard]] Status check_hypothesis(const std::string& name);
// kInvalidArgument unless `n` nats is a finite number within ±kLogOddsMax
// (what nats() can represent), for ratios taken from a caller.
[[nodiscard]] Status check_nats(std::string_view what, double n);

// What the cluster agreed about aggregation. Changes only through a
// committed ConfigChange signed by an administrator.
struct EvidenceConfig {
  Units resolution = kUnitsPerNat / 1'000'000;  // every LLR is rounded to a multiple of this
  Units ratio_bound = 20 * kUnitsPerNat;        // |LLR| of one item at most this
  Units source_clip = 50 * kUnitsPerNat;        // |one source's total on a hypothesis| clipped here
  std::uint32_t trim = 1;                       // t: drop the t lowest and t highest sources
  std::uint32_t min_sources = 3;                // fewer: "insufficient evidence"
  std::uint32_t items_per_block = 64;           // per source
  std::uint32_t hypotheses_max = 10'000;
  bool weighted = true;  // scale each source's contribution by its reputation
  Units prior = 0;       // prior log-odds of every hypothesis

  // kInvalidArgument naming the first field out of range: resolution in
  // [1, 1 nat]; ratio_bound and source_clip in [resolution, 100 nats];
  // min_sources ≥ 2·trim + 1; items_per_block and hypotheses_max ≥ 1;
  // |prior| ≤ kLogOddsMax.
  [[nodiscard]] Status validate() const;

  void encode(codec::Writer& w) const;
  [[nodiscard]] static Result<EvidenceConfig> decode(codec::Reader& r);
  bool operator==(const EvidenceConfig&) const = default;
};

// One piece of evidence, signed by its source.
struct EvidenceItem {
  static constexpr SignDomain kDomain = SignDomain::kEvidence;
  static constexpr Action kAction = Action::kSubmitEvidence;

  ClusterId cluster;
  ClientId source;
  std::string hypothesis;
  Units llr = 0;
  std::uint64_t sequence = 0;     // 1 for a source's first item, then +1 each
  crypto::Hash32 previous;        // hash() of the source's previous item; zero for the first
  std::int64_t timestamp_ms = 0;  // the source's clock; never below its previous item's
  crypto::Signature signature = {};

  [[nodiscard]] Principal author() const { return Principal::client(source); }
  // What the next item's `previous` must be: BLAKE2b-256 of the whole signed item.
  [[nodiscard]] crypto::Hash32 hash() const;

  void encode_signed(codec::Writer& w) const;
  void encode(codec::Writer& w) const;
  [[nodiscard]] static Result<EvidenceItem> decode(codec::Reader& r);
  bool operator==(const EvidenceItem&) const = default;
};

// A new aggregation configuration, signed by an administrator. `version`
// must be exactly one above the current one, so a captured change cannot be
// replayed to roll the configuration back.
struct ConfigChange {
  static constexpr SignDomain kDomain = SignDomain::kConfig;
  static constexpr Action kAction = Action::kReconfigure;

  ClusterId cluster;
  ClientId admin;
  std::uint64_t version = 0;
  EvidenceConfig config;
  crypto::Signature signature = {};

  [[nodiscard]] Principal author() const { return Principal::client(admin); }
  void encode_signed(codec::Writer& w) const;
  void encode(codec::Writer& w) const;
  [[nodiscard]] static Result<ConfigChange> decode(codec::Reader& r);
  bool operator==(const ConfigChange&) const = default;
};

enum class EvidenceOp : std::uint8_t {
  kSubmit = 0,     // item
  kPosterior = 1,  // hypothesis
  kSources = 2,    // every registered source and its standing
  kProof = 3,      // the item (proof_source, proof_sequence) with its inclusion proof
  kConfigure = 4,  // change
  kConfig = 5,     // the current configuration
};
inline constexpr std::uint8_t kEvidenceOpMax = 5;

// (client, sequence) is the session of the request that carries the command,
// as for the KV store; the item's own sequence is the source's chain.
struct EvidenceCommand {
  ClientId client;
  std::uint64_t sequence = 0;
  EvidenceOp op = EvidenceOp::kPosterior;
  std::optional<EvidenceItem> item = std::nullopt;    // submit
  std::string hypothesis = {};                        // posterior
  ClientId proof_source = {};                         // proof
  std::uint64_t proof_sequence = 0;                   // proof
  std::optional<ConfigChange> change = std::nullopt;  // configure

  [[nodiscard]] bool read_only() const {
    return op == EvidenceOp::kPosterior || op == EvidenceOp::kSources || op == EvidenceOp::kProof ||
           op == EvidenceOp::kConfig;
  }
  // What the command asks to do, for the policy (security/policy.h).
  [[nodiscard]] Action action() const;

  void encode(codec::Writer& w) const;
  [[nodiscard]] static Result<EvidenceCommand> decode(codec::Reader& r);
  bool operator==(const EvidenceCommand&) const = default;
};

enum class EvidenceStatus : std::uint8_t {
  kOk = 0,
  kMalformed = 1,              // the command did not decode
  kSessionReplay = 2,          // the carrying request's sequence is below the client's last
  kSessionsFull = 3,           // a new client while the session table is full
  kWrongCluster = 4,           // signed for another cluster
  kUnknownSource = 5,          // no longer sent (it told which ids exist): kSignatureInvalid
  kNotPermitted = 6,           // the signer's role may not do this
  kSignatureInvalid = 7,       // the item's or change's signature does not verify
  kItemReplay = 8,             // the item's sequence was already accepted (NonceReplay)
  kChainBroken = 9,            // gap, wrong previous hash or timestamp going backwards
  kOutOfBounds = 10,           // |LLR| above the configured bound
  kRateLimited = 11,           // the source's items in this block reached the limit
  kTooManyHypotheses = 12,     // a new hypothesis beyond hypotheses_max
  kInsufficientEvidence = 13,  // fewer distinct sources than min_sources
  kNotFound = 14,              // no such item
  kBadConfig = 15,             // the change's configuration is out of range
  kStaleConfig = 16,           // the change's version is not the next one
};
inline constexpr std::uint8_t kEvidenceStatusMax = 16;
[[nodiscard]] std::string_view status_name(EvidenceStatus status);

struct Posterior {
  std::string hypothesis;
  std::uint32_t sources = 0;      // distinct sources with evidence on it
  std::uint32_t min_sources = 0;  // the configured minimum
  std::uint32_t trimmed = 0;      // left out of the mean (2t, or 0 if insufficient)
  Units prior = 0;
  // Present only with at least min_sources sources:
  std::optional<Units> mean;      // the trimmed mean of the sources' contributions
  std::optional<Units> log_odds;  // prior + mean × sources, within ±kLogOddsMax

  void encode(codec::Writer& w) const;
  [[nodiscard]] static Result<Posterior> decode(codec::Reader& r);
  bool operator==(const Posterior&) const = default;
};

// Reputation runs from 1 to kReputationMax (docs/evidence.md, "Reputation").
inline constexpr std::uint32_t kReputationMax = 1000;

struct SourceStanding {
  ClientId source;
  std::uint64_t sequence = 0;     // of its last accepted item; 0: none yet
  crypto::Hash32 head;            // hash of that item; zero: none yet
  std::int64_t timestamp_ms = 0;  // that item's timestamp (the next must not be below)
  std::uint32_t reputation = kReputationMax;
  std::uint64_t accepted = 0;
  std::uint64_t penalized = 0;  // items after which it was trimmed or contradicted the consensus

  void encode(codec::Writer& w) const;
  [[nodiscard]] static Result<SourceStanding> decode(codec::Reader& r);
  bool operator==(const SourceStanding&) const = default;
};

// An item and the path from it to the evidence service's state digest:
//   merkle_leaf(item) ─item_path─► block root
//   merkle_leaf(block_height ‖ block_items ‖ block root) ─block_path─► log root
//   digest = H("phalanx/v1/evidence-state" ‖ log root ‖ rest)
struct ItemProof {
  EvidenceItem item;
  std::uint64_t block_height = 0;
  std::uint64_t block_items = 0;
  crypto::InclusionProof item_path;
  crypto::InclusionProof block_path;
  crypto::Hash32 rest;    // hash of the state other than the log
  crypto::Hash32 digest;  // the state digest when the proof was made

  void encode(codec::Writer& w) const;
  [[nodiscard]] static Result<ItemProof> decode(codec::Reader& r);
  bool operator==(const ItemProof&) const = default;
};

// The digest from the log root and the rest of the state.
[[nodiscard]] crypto::Hash32 evidence_digest(const crypto::Hash32& log_root,
                                             const crypto::Hash32& rest);
// The Merkle leaf that stands for one block of the log.
[[nodiscard]] Bytes block_leaf(std::uint64_t height, std::uint64_t items,
                               const crypto::Hash32& root);
// True iff the proof leads from its item to its own digest (which the caller
// then compares with a digest it trusts: f+1 matching signed replies).
[[nodiscard]] bool verify_proof(const ItemProof& proof);

// A sources reply lists at most this many (by id), so that it stays within
// the session table's cached-reply limit (consensus::SessionTable::kReplyBytesMax).
inline constexpr std::size_t kSourcesMax = 10'000;
inline constexpr std::size_t kDetailBytesMax = 512;

struct EvidenceReply {
  EvidenceStatus status = EvidenceStatus::kOk;
  std::string detail = {};  // why, for a refusal
  std::optional<Posterior> posterior = std::nullopt;
  std::vector<SourceStanding> sources = {};
  std::optional<ItemProof> proof = std::nullopt;
  std::optional<EvidenceConfig> config = std::nullopt;
  std::uint64_t config_version = 0;

  void encode(codec::Writer& w) const;
  [[nodiscard]] static Result<EvidenceReply> decode(codec::Reader& r);
  bool operator==(const EvidenceReply&) const = default;
};

}  // namespace phalanx::evidence
