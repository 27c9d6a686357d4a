#include "loadgen/histogram.h"

#include <algorithm>
#include <bit>
#include <cmath>

namespace phalanx::loadgen {
namespace {

constexpr std::uint64_t kExact = std::uint64_t{1} << Histogram::kSubBits;  // below: one per value
constexpr std::uint64_t kHalf = kExact / 2;  // sub-buckets per octave above

}  // namespace

std::size_t Histogram::bucket_of(std::uint64_t value) {
  value = std::min(value, kValueMax);
  if (value < kExact) return static_cast<std::size_t>(value);
  const int shift = std::bit_width(value) - kSubBits;  // >= 1
  const std::uint64_t top = value >> shift;            // in [kHalf, kExact)
  return static_cast<std::size_t>(kExact + static_cast<std::uint64_t>(shift - 1) * kHalf +
                                  (top - kHalf));
}

std::uint64_t Histogram::bucket_high(std::size_t bucket) {
  if (bucket < kExact) return bucket;
  const std::uint64_t above = bucket - kExact;
  const auto shift = static_cast<int>(above / kHalf) + 1;
  const std::uint64_t top = kHalf + above % kHalf;
  return ((top + 1) << shift) - 1;
}

void Histogram::record(std::uint64_t value) {
  value = std::min(value, kValueMax);
  ++counts_[bucket_of(value)];
  ++count_;
  min_ = std::min(min_, value);
  max_ = std::max(max_, value);
  sum_ += value;
}

void Histogram::merge(const Histogram& other) {
  for (std::size_t i = 0; i < kBuckets; ++i) counts_[i] += other.counts_[i];
  count_ += other.count_;
  min_ = std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
  sum_ += other.sum_;
}

double Histogram::mean() const {
  return count_ == 0 ? 0.0 : static_cast<double>(sum_ / static_cast<long double>(count_));
}

std::uint64_t Histogram::percentile(double p) const {
  if (count_ == 0) return 0;
  const auto rank = static_cast<std::uint64_t>(
      std::ceil(std::clamp(p, 0.0, 100.0) / 100.0 * static_cast<double>(count_)));
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < kBuckets; ++i) {
    seen += counts_[i];
    if (seen >= std::max<std::uint64_t>(rank, 1)) return std::min(bucket_high(i), max_);
  }
  return max_;
}

}  // namespace phalanx::loadgen
