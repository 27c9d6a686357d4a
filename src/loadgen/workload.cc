#include "loadgen/workload.h"

#include <fmt/format.h>

#include <charconv>
#include <cmath>

namespace phalanx::loadgen {

std::string_view op_name(OpKind op) {
  switch (op) {
    case OpKind::kPut: return "put";
    case OpKind::kGet: return "get";
    case OpKind::kCas: return "cas";
  }
  return "?";
}

Result<OpMix> OpMix::parse(std::string_view text) {
  OpMix mix{0, 0, 0};
  bool seen[3] = {false, false, false};
  std::size_t at = 0;
  while (at <= text.size()) {
    const std::size_t comma = std::min(text.find(',', at), text.size());
    const std::string_view item = text.substr(at, comma - at);
    const std::size_t colon = item.find(':');
    const std::string_view name = item.substr(0, colon);
    std::uint32_t weight = 0;
    const std::string_view digits =
        colon == std::string_view::npos ? std::string_view() : item.substr(colon + 1);
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), weight);
    if (colon == std::string_view::npos || ec != std::errc() ||
        end != digits.data() + digits.size() || weight > 1000) {
      return fail(ErrorCode::kInvalidArgument,
                  fmt::format("'{}': give the mix as kind:weight pairs, e.g. put:50,get:50", item));
    }
    int index = name == "put" ? 0 : name == "get" ? 1 : name == "cas" ? 2 : -1;
    if (index < 0) {
      return fail(ErrorCode::kInvalidArgument,
                  fmt::format("'{}': the kinds are put, get and cas", name));
    }
    if (seen[index]) {
      return fail(ErrorCode::kInvalidArgument, fmt::format("'{}' appears twice in the mix", name));
    }
    seen[index] = true;
    (index == 0 ? mix.put : index == 1 ? mix.get : mix.cas) = weight;
    at = comma + 1;
  }
  if (mix.put + mix.get + mix.cas == 0) {
    return fail(ErrorCode::kInvalidArgument, "the mix's weights add up to 0");
  }
  return mix;
}

std::string OpMix::to_string() const { return fmt::format("put:{},get:{},cas:{}", put, get, cas); }

OpKind OpMix::pick(double u) const {
  const double total = static_cast<double>(put + get + cas);
  const double x = u * total;
  if (x < put) return OpKind::kPut;
  if (x < put + get) return OpKind::kGet;
  return cas > 0 ? OpKind::kCas : (get > 0 ? OpKind::kGet : OpKind::kPut);
}

Result<Distribution> parse_distribution(std::string_view text) {
  if (text == "uniform") return Distribution::kUniform;
  if (text == "zipfian") return Distribution::kZipfian;
  if (text == "distinct") return Distribution::kDistinct;
  return fail(ErrorCode::kInvalidArgument,
              fmt::format("'{}': the distributions are uniform, zipfian and distinct", text));
}

std::string_view distribution_name(Distribution d) {
  switch (d) {
    case Distribution::kUniform: return "uniform";
    case Distribution::kZipfian: return "zipfian";
    case Distribution::kDistinct: return "distinct";
  }
  return "?";
}

KeyChooser::KeyChooser(Distribution distribution, std::uint64_t space, std::uint64_t seed,
                       std::uint64_t first)
    : distribution_(distribution), space_(space), next_distinct_(first), rng_(seed) {
  if (distribution_ != Distribution::kZipfian) return;
  for (std::uint64_t i = 1; i <= space_; ++i) {
    zeta_n_ += 1.0 / std::pow(static_cast<double>(i), kZipfTheta);
  }
  const double zeta_2 = 1.0 + 1.0 / std::pow(2.0, kZipfTheta);
  alpha_ = 1.0 / (1.0 - kZipfTheta);
  eta_ = (1.0 - std::pow(2.0 / static_cast<double>(space_), 1.0 - kZipfTheta)) /
         (1.0 - zeta_2 / zeta_n_);
}

std::uint64_t KeyChooser::next() {
  switch (distribution_) {
    case Distribution::kDistinct: return next_distinct_++;
    case Distribution::kUniform: return rng_() % space_;
    case Distribution::kZipfian: {
      const double u = unit_(rng_);
      const double uz = u * zeta_n_;
      if (uz < 1.0) return 0;
      if (uz < 1.0 + std::pow(0.5, kZipfTheta)) return std::min<std::uint64_t>(1, space_ - 1);
      const auto k = static_cast<std::uint64_t>(static_cast<double>(space_) *
                                                std::pow(eta_ * u - eta_ + 1.0, alpha_));
      return std::min(k, space_ - 1);
    }
  }
  return 0;
}

std::string key_name(std::string_view prefix, std::uint64_t k) {
  return fmt::format("{}{:012}", prefix, k);
}

}  // namespace phalanx::loadgen
