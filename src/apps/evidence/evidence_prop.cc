// Properties of the evidence aggregator: order does not matter, more honest
// evidence never lowers the result, t liars cannot leave the honest range.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <random>

#include "apps/evidence/aggregate.h"
#include "apps/evidence/tally.h"

namespace phalanx::evidence {
namespace {

// Contributions within ±100 nats, the widest clip a configuration allows.
rc::Gen<Units> gen_value() {
  return rc::gen::inRange<Units>(-100 * kUnitsPerNat, 100 * kUnitsPerNat + 1);
}

// `v` in an order RapidCheck picks.
template <class T>
std::vector<T> shuffled(std::vector<T> v) {
  std::mt19937_64 rng(*rc::gen::arbitrary<std::uint64_t>());
  std::shuffle(v.begin(), v.end(), rng);
  return v;
}

// t and at least 2t+1 values.
struct Inputs {
  std::uint32_t trim;
  std::vector<Units> values;
};

rc::Gen<Inputs> gen_inputs() {
  return rc::gen::mapcat(rc::gen::inRange<std::uint32_t>(0, 5), [](std::uint32_t trim) {
    return rc::gen::map(
        rc::gen::mapcat(
            rc::gen::inRange<std::size_t>(2 * trim + 1, 2 * trim + 12),
            [](std::size_t n) { return rc::gen::container<std::vector<Units>>(n, gen_value()); }),
        [trim](std::vector<Units> values) {
          return Inputs{trim, std::move(values)};
        });
  });
}

RC_GTEST_PROP(EvidenceAggregate, TheTrimmedMeanDoesNotDependOnOrder, ()) {
  Inputs in = *gen_inputs();
  const TrimmedMean before = trimmed_mean(in.values, in.trim);
  const TrimmedMean after = trimmed_mean(shuffled(in.values), in.trim);
  RC_ASSERT(after.mean == before.mean);
  RC_ASSERT(after.low == before.low);
  RC_ASSERT(after.high == before.high);
}

RC_GTEST_PROP(EvidenceAggregate, MoreEvidenceFromOneSourceNeverLowersTheMean, ()) {
  Inputs in = *gen_inputs();
  const TrimmedMean before = trimmed_mean(in.values, in.trim);
  const auto i = *rc::gen::inRange<std::size_t>(0, in.values.size());
  in.values[i] += *rc::gen::inRange<Units>(0, 10 * kUnitsPerNat);
  RC_ASSERT(trimmed_mean(in.values, in.trim).mean >= before.mean);
}

// Any t of the inputs replaced by anything at all: the mean stays within
// [min, max] of the inputs that were not replaced (docs/evidence.md, bound 1).
RC_GTEST_PROP(EvidenceAggregate, TLiarsCannotMoveTheMeanOutOfTheHonestRange, ()) {
  Inputs in = *gen_inputs();
  const auto liars = *rc::gen::inRange<std::uint32_t>(0, in.trim + 1);
  std::vector<Units> honest(in.values.begin() + liars, in.values.end());
  for (std::uint32_t k = 0; k < liars; ++k) {
    in.values[k] = *rc::gen::oneOf(rc::gen::just<Units>(100 * kUnitsPerNat),
                                   rc::gen::just<Units>(-100 * kUnitsPerNat), gen_value());
  }
  const TrimmedMean m = trimmed_mean(in.values, in.trim);
  RC_ASSERT(m.mean >= *std::min_element(honest.begin(), honest.end()));
  RC_ASSERT(m.mean <= *std::max_element(honest.begin(), honest.end()));
  RC_ASSERT(m.low >= *std::min_element(honest.begin(), honest.end()));
  RC_ASSERT(m.high <= *std::max_element(honest.begin(), honest.end()));
}

RC_GTEST_PROP(EvidenceAggregate, QuantizingLandsOnTheNearestStepAndIsIdempotent, ()) {
  const auto resolution = *rc::gen::inRange<Units>(1, kUnitsPerNat + 1);
  const auto llr = *rc::gen::inRange<Units>(-100 * kUnitsPerNat, 100 * kUnitsPerNat);
  const Units q = quantize(llr, resolution);
  RC_ASSERT(q % resolution == 0);
  RC_ASSERT(2 * (q > llr ? q - llr : llr - q) <= resolution);
  RC_ASSERT(quantize(q, resolution) == q);
  RC_ASSERT(quantize(-llr, resolution) == -q);  // symmetric: no direction is favoured
}

RC_GTEST_PROP(EvidenceAggregate, AContributionIsMonotoneAndWithinTheClip, ()) {
  const auto clip = *rc::gen::inRange<Units>(1, 100 * kUnitsPerNat + 1);
  const auto reputation = *rc::gen::inRange<std::uint32_t>(1, kReputationMax + 1);
  const auto weighted = *rc::gen::arbitrary<bool>();
  const Total a = *rc::gen::inRange<Units>(-200 * kUnitsPerNat, 200 * kUnitsPerNat);
  const Total b = a + *rc::gen::inRange<Units>(0, 50 * kUnitsPerNat);
  const Units ca = contribution(a, clip, reputation, weighted);
  RC_ASSERT(ca <= contribution(b, clip, reputation, weighted));
  RC_ASSERT(ca >= -clip && ca <= clip);
}

// The replicated tally: the posterior is the same whichever order the
// sources' totals were reached in, when reputation plays no part.
RC_GTEST_PROP(EvidenceAggregate, TheUnweightedPosteriorDependsOnlyOnTheItems, ()) {
  const EvidenceConfig c{.trim = 1, .min_sources = 3, .weighted = false};
  const auto items = *rc::gen::container<std::vector<std::pair<std::uint64_t, Units>>>(
      rc::gen::pair(rc::gen::inRange<std::uint64_t>(1, 7),
                    rc::gen::inRange<Units>(-c.ratio_bound, c.ratio_bound + 1)));
  Tally in_order;
  for (const auto& [source, llr] : items) in_order.add(ClientId{source}, "h", llr, c);
  Tally reordered;
  for (const auto& [source, llr] : shuffled(items)) reordered.add(ClientId{source}, "h", llr, c);
  RC_ASSERT(in_order.posterior("h", c) == reordered.posterior("h", c));
}

}  // namespace
}  // namespace phalanx::evidence
