// The arithmetic of the evidence service (docs/evidence.md, "The formula").
// Pure, integer-only, so every replica computes the same posterior bit for bit.
//
//   Units q = quantize(nats(0.2500000000001), nats(1e-6));    // == nats(0.25)
//   Units c = contribution(total, clip, reputation, weighted);
//   TrimmedMean m = trimmed_mean(contributions, trim);
//   Units l = log_odds(prior, m.mean, contributions.size());
#pragma once

#include <cstdint>
#include <span>

#include "apps/evidence/evidence.h"

namespace phalanx::evidence {

// A source's running total on one hypothesis: wide enough that no sequence
// of bounded items overflows it, so totals do not depend on order.
using Total = __int128;

// `llr` rounded to the nearest multiple of `resolution`, halves away from
// zero. REQUIRES: resolution > 0.
[[nodiscard]] Units quantize(Units llr, Units resolution);

// What one source's total counts for: clipped to [-clip, clip], then, if
// weighted, scaled by reputation / kReputationMax (rounded toward -∞).
// Non-decreasing in `total`. REQUIRES: clip > 0, reputation ≤ kReputationMax.
[[nodiscard]] Units contribution(Total total, Units clip, std::uint32_t reputation, bool weighted);

struct TrimmedMean {
  Units mean = 0;  // floor of the mean of the retained values
  Units low = 0;   // the lowest retained value
  Units high = 0;  // the highest retained value
};

// Sorts the values, drops the `trim` lowest and `trim` highest and averages
// the rest. Depends only on the multiset of values (not their order), is
// non-decreasing in each value, and with at most `trim` values replaced by
// anything, every retained value stays within [min, max] of the others.
// REQUIRES: values.size() > 2 · trim.
[[nodiscard]] TrimmedMean trimmed_mean(std::span<const Units> values, std::uint32_t trim);

// prior + mean × sources, saturated to ±kLogOddsMax.
[[nodiscard]] Units log_odds(Units prior, Units mean, std::uint64_t sources);

}  // namespace phalanx::evidence
