// What a load generator asks for: an operation mix and a key chooser. Pure
// and deterministic for a given seed, so two runs can ask for the same.
//
//   Result<OpMix> mix = OpMix::parse("put:50,get:45,cas:5");
//   KeyChooser keys(Distribution::kZipfian, 100'000, /*seed=*/7);
//   std::uint64_t k = keys.next();      // hot keys come up far more often
//   OpKind op = mix->pick(rng_value);
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace phalanx::loadgen {

enum class OpKind : std::uint8_t { kPut, kGet, kCas };
[[nodiscard]] std::string_view op_name(OpKind op);

// Percent weights of put, get and compare-and-set (a read-modify-write: a get,
// then a cas expecting what it read).
struct OpMix {
  std::uint32_t put = 100;
  std::uint32_t get = 0;
  std::uint32_t cas = 0;

  // "put:50,get:50" (kinds left out weigh 0). kInvalidArgument for an unknown
  // kind, a repeated one, a malformed weight or weights that sum to 0.
  [[nodiscard]] static Result<OpMix> parse(std::string_view text);
  [[nodiscard]] std::string to_string() const;
  // The kind for a uniform draw `u` in [0, 1).
  [[nodiscard]] OpKind pick(double u) const;
};

enum class Distribution : std::uint8_t {
  kUniform,   // every key of the space equally likely
  kZipfian,   // YCSB's: key rank r with probability ~ 1/r^0.99
  kDistinct,  // every operation its own key, never reused (the key space is ignored)
};
[[nodiscard]] Result<Distribution> parse_distribution(std::string_view text);
[[nodiscard]] std::string_view distribution_name(Distribution d);

// Draws key numbers in [0, space) (kDistinct: 0, 1, 2, ... from `first`).
class KeyChooser {
 public:
  static constexpr double kZipfTheta = 0.99;

  // REQUIRES: space >= 1.
  KeyChooser(Distribution distribution, std::uint64_t space, std::uint64_t seed,
             std::uint64_t first = 0);
  [[nodiscard]] std::uint64_t next();
  [[nodiscard]] double uniform() { return unit_(rng_); }  // for op picks

 private:
  Distribution distribution_;
  std::uint64_t space_;
  std::uint64_t next_distinct_;
  std::mt19937_64 rng_;
  std::uniform_real_distribution<double> unit_{0.0, 1.0};
  // Zipfian constants (Gray et al., "Quickly generating billion-record synthetic databases").
  double zeta_n_ = 0;
  double alpha_ = 0;
  double eta_ = 0;
};

// The key text for number k: fixed width, so keys sort as their numbers.
[[nodiscard]] std::string key_name(std::string_view prefix, std::uint64_t k);

}  // namespace phalanx::loadgen
