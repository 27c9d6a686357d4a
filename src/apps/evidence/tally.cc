#include "apps/evidence/tally.h"

#include <vector>

namespace phalanx::evidence {
namespace {

void encode_total(codec::Writer& w, Total t) {
  const auto bits = static_cast<unsigned __int128>(t);
  w.u64(static_cast<std::uint64_t>(bits >> 64));
  w.u64(static_cast<std::uint64_t>(bits));
}

Result<Total> decode_total(codec::Reader& r) {
  PHALANX_ASSIGN_OR_RETURN(const std::uint64_t high, r.u64());
  PHALANX_ASSIGN_OR_RETURN(const std::uint64_t low, r.u64());
  return static_cast<Total>((static_cast<unsigned __int128>(high) << 64) | low);
}

}  // namespace

bool Tally::has_room_for(const std::string& hypothesis, const EvidenceConfig& c) const {
  return totals_.contains(hypothesis) || totals_.size() < c.hypotheses_max;
}

void Tally::add(ClientId source, const std::string& hypothesis, Units llr,
                const EvidenceConfig& c) {
  PHALANX_ASSERT(has_room_for(hypothesis, c));
  std::map<ClientId, Sum>& by_source = totals_[hypothesis];
  Sum& mine = by_source[source];
  mine.total += quantize(llr, c.resolution);
  ++mine.items;
  if (by_source.size() < c.min_sources) return;
  const auto average = [](const Sum& s) {
    return static_cast<Units>(s.total / static_cast<Total>(s.items));
  };
  std::vector<Units> averages;
  averages.reserve(by_source.size());
  for (const auto& [id, sum] : by_source) averages.push_back(average(sum));
  const TrimmedMean m = trimmed_mean(averages, c.trim);
  const Total magnitude = std::max<Total>(m.high < 0 ? -static_cast<Total>(m.high) : m.high,
                                          m.low < 0 ? -static_cast<Total>(m.low) : m.low);
  const Total width = std::max<Total>(static_cast<Total>(m.high) - m.low, magnitude) + c.resolution;
  const Total own = average(mine);
  Standing& s = standing_[source];
  if (own < m.low - width || own > m.high + width) {
    s.score = s.score > kPenalty ? s.score - kPenalty : 1;
    ++s.penalized;
  } else {
    s.score = std::min(kReputationMax, s.score + kReward);
  }
}

Posterior Tally::posterior(const std::string& hypothesis, const EvidenceConfig& c) const {
  Posterior p{hypothesis, 0, c.min_sources, 0, c.prior, std::nullopt, std::nullopt};
  const auto it = totals_.find(hypothesis);
  if (it == totals_.end()) return p;
  p.sources = static_cast<std::uint32_t>(it->second.size());
  if (p.sources < c.min_sources) return p;
  std::vector<Units> contributions;
  contributions.reserve(it->second.size());
  for (const auto& [id, sum] : it->second) {
    contributions.push_back(contribution(sum.total, c.source_clip, reputation(id), c.weighted));
  }
  const TrimmedMean m = trimmed_mean(contributions, c.trim);
  p.trimmed = 2 * c.trim;
  p.mean = m.mean;
  p.log_odds = log_odds(c.prior, m.mean, p.sources);
  return p;
}

std::uint32_t Tally::reputation(ClientId source) const {
  const auto it = standing_.find(source);
  return it == standing_.end() ? kReputationMax : it->second.score;
}

std::uint64_t Tally::penalized(ClientId source) const {
  const auto it = standing_.find(source);
  return it == standing_.end() ? 0 : it->second.penalized;
}

void Tally::encode(codec::Writer& w) const {
  w.varint(totals_.size());
  for (const auto& [hypothesis, by_source] : totals_) {
    w.string(hypothesis, kHypothesisBytesMax);
    w.varint(by_source.size());
    for (const auto& [source, sum] : by_source) {
      w.id(source);
      encode_total(w, sum.total);
      w.varint(sum.items);
    }
  }
  w.varint(standing_.size());
  for (const auto& [source, s] : standing_) {
    w.id(source);
    w.varint(s.score);
    w.varint(s.penalized);
  }
}

Result<Tally> Tally::decode(codec::Reader& r) {
  Tally t;
  PHALANX_ASSIGN_OR_RETURN(const std::uint64_t hypotheses, r.varint_max(r.remaining()));
  for (std::uint64_t i = 0; i < hypotheses; ++i) {
    const std::size_t at = r.offset();
    PHALANX_ASSIGN_OR_RETURN(std::string hypothesis, r.string(kHypothesisBytesMax));
    if (!t.totals_.empty() && hypothesis <= t.totals_.rbegin()->first) {
      return codec::Reader::malformed(MalformedReason::kNonCanonical, at);
    }
    std::map<ClientId, Sum>& by_source = t.totals_[std::move(hypothesis)];
    PHALANX_ASSIGN_OR_RETURN(const std::uint64_t sources, r.varint_max(r.remaining()));
    if (sources == 0) return codec::Reader::malformed(MalformedReason::kNonCanonical, at);
    for (std::uint64_t j = 0; j < sources; ++j) {
      const std::size_t source_at = r.offset();
      PHALANX_ASSIGN_OR_RETURN(const ClientId source, r.id<ClientId>());
      PHALANX_ASSIGN_OR_RETURN(const Total total, decode_total(r));
      PHALANX_ASSIGN_OR_RETURN(const std::uint64_t items, r.varint());
      if (items == 0 || (!by_source.empty() && source <= by_source.rbegin()->first)) {
        return codec::Reader::malformed(MalformedReason::kNonCanonical, source_at);
      }
      by_source.emplace_hint(by_source.end(), source, Sum{total, items});
    }
  }
  PHALANX_ASSIGN_OR_RETURN(const std::uint64_t standings, r.varint_max(r.remaining()));
  for (std::uint64_t i = 0; i < standings; ++i) {
    const std::size_t at = r.offset();
    PHALANX_ASSIGN_OR_RETURN(const ClientId source, r.id<ClientId>());
    PHALANX_ASSIGN_OR_RETURN(const std::uint64_t score, r.varint_max(kReputationMax));
    PHALANX_ASSIGN_OR_RETURN(const std::uint64_t penalized, r.varint());
    if (score == 0 || (!t.standing_.empty() && source <= t.standing_.rbegin()->first)) {
      return codec::Reader::malformed(MalformedReason::kNonCanonical, at);
    }
    t.standing_.emplace_hint(t.standing_.end(), source,
                             Standing{static_cast<std::uint32_t>(score), penalized});
  }
  return t;
}

}  // namespace phalanx::evidence
