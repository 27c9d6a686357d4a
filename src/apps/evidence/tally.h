// Per-hypothesis totals and per-source reputation: the part of the evidence
// state that aggregation reads (docs/evidence.md). Pure; takes items that
// admission already accepted.
//
//   Tally t;
//   t.add(ClientId{3}, "rain", nats(0.4), config);
//   Posterior p = t.posterior("rain", config);   // p.log_odds absent below min_sources
#pragma once

#include <map>
#include <string>

#include "apps/evidence/aggregate.h"
#include "apps/evidence/evidence.h"

namespace phalanx::evidence {

// Reputation rule: after each accepted item on a hypothesis that has at
// least min_sources sources, compare the sources' average LLR per item
// there. Trim as for the posterior; the retained averages span [low, high].
// With w = max(high − low, |low|, |high|) + resolution, a source outside
// [low − w, high + w] (farther out than the honest spread and than the
// consensus itself: a loud liar, or one pointing against the consensus)
// loses kPenalty; otherwise it gains kReward. Scores stay in
// [1, kReputationMax]. Averages, not totals, so a source that is merely
// ahead in time or sends more is not an outlier.
inline constexpr std::uint32_t kPenalty = 50;
inline constexpr std::uint32_t kReward = 10;

class Tally {
 public:
  // False if `hypothesis` is new and there are hypotheses_max already.
  [[nodiscard]] bool has_room_for(const std::string& hypothesis, const EvidenceConfig& c) const;
  // Adds one accepted LLR, quantized to c.resolution, and applies the
  // reputation rule. REQUIRES: has_room_for(hypothesis, c).
  void add(ClientId source, const std::string& hypothesis, Units llr, const EvidenceConfig& c);

  [[nodiscard]] Posterior posterior(const std::string& hypothesis, const EvidenceConfig& c) const;
  [[nodiscard]] std::uint32_t reputation(ClientId source) const;
  [[nodiscard]] std::uint64_t penalized(ClientId source) const;
  [[nodiscard]] std::size_t hypotheses() const { return totals_.size(); }

  void encode(codec::Writer& w) const;
  [[nodiscard]] static Result<Tally> decode(codec::Reader& r);
  bool operator==(const Tally&) const = default;

 private:
  struct Sum {
    Total total = 0;
    std::uint64_t items = 0;
    bool operator==(const Sum&) const = default;
  };
  struct Standing {
    std::uint32_t score = kReputationMax;
    std::uint64_t penalized = 0;
    bool operator==(const Standing&) const = default;
  };

  std::map<std::string, std::map<ClientId, Sum>> totals_;
  std::map<ClientId, Standing> standing_;
};

}  // namespace phalanx::evidence
