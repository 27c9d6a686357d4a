// Deterministic pseudo-random numbers (xoshiro256**, seeded via SplitMix64).
//
// Everything that must be reproducible from a seed — the simulator, fault
// injection, property tests — takes a Random& instead of reaching for a
// global. Not for keys or nonces: those come from crypto::KeyPair::generate().
//
//   Random rng(seed);
//   if (rng.one_in(100)) inject_fault();
//   std::size_t i = rng.uniform(items.size());
#pragma once

#include <array>
#include <cstdint>

namespace phalanx {

class Random {
 public:
  explicit Random(std::uint64_t seed);

  std::uint64_t next();
  // Uniform in [0, n). REQUIRES: n > 0.
  std::uint64_t uniform(std::uint64_t n);
  // Uniform in [lo, hi]. REQUIRES: lo <= hi.
  std::uint64_t between(std::uint64_t lo, std::uint64_t hi);
  // True with probability 1/n. REQUIRES: n > 0.
  bool one_in(std::uint64_t n) { return uniform(n) == 0; }
  bool coin() { return (next() & 1) == 1; }

 private:
  std::array<std::uint64_t, 4> s_;
};

}  // namespace phalanx
