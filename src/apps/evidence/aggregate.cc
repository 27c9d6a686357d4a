#include "apps/evidence/aggregate.h"

#include <algorithm>
#include <vector>

#include "core/assert.h"

namespace phalanx::evidence {
namespace {

// Floor division for a positive divisor.
Total floor_div(Total n, Total d) {
  const Total q = n / d;
  return (n % d != 0 && n < 0) ? q - 1 : q;
}

}  // namespace

Units quantize(Units llr, Units resolution) {
  PHALANX_ASSERT(resolution > 0);
  const Total r = resolution;
  const Total v = llr;
  Total steps = v / r;  // toward zero
  const Total rest = v % r;
  if (2 * (rest < 0 ? -rest : rest) >= r) steps += rest < 0 ? -1 : 1;
  return static_cast<Units>(steps * r);
}

Units contribution(Total total, Units clip, std::uint32_t reputation, bool weighted) {
  PHALANX_ASSERT(clip > 0 && reputation <= kReputationMax);
  const Total clipped = std::clamp<Total>(total, -clip, clip);
  if (!weighted) return static_cast<Units>(clipped);
  return static_cast<Units>(floor_div(clipped * reputation, kReputationMax));
}

TrimmedMean trimmed_mean(std::span<const Units> values, std::uint32_t trim) {
  PHALANX_ASSERT(values.size() > 2 * static_cast<std::size_t>(trim));
  std::vector<Units> sorted(values.begin(), values.end());
  std::sort(sorted.begin(), sorted.end());
  const std::span<const Units> kept(sorted.data() + trim, sorted.size() - 2 * trim);
  Total sum = 0;
  for (Units v : kept) sum += v;
  return {static_cast<Units>(floor_div(sum, static_cast<Total>(kept.size()))), kept.front(),
          kept.back()};
}

Units log_odds(Units prior, Units mean, std::uint64_t sources) {
  const Total l =
      static_cast<Total>(prior) + static_cast<Total>(mean) * static_cast<Total>(sources);
  return static_cast<Units>(std::clamp<Total>(l, -kLogOddsMax, kLogOddsMax));
}

}  // namespace phalanx::evidence
