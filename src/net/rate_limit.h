// A token bucket (pure: the caller passes the time).
//
//   TokenBucket bucket(1000, 2000);           // 1000 per second, bursts of 2000
//   if (!bucket.take(now_ns)) refuse with RateLimitExceeded;
#pragma once

#include <algorithm>
#include <cstdint>

namespace phalanx::net {

class TokenBucket {
 public:
  TokenBucket(std::uint64_t per_second, std::uint64_t burst)
      : per_second_(per_second), burst_(burst), tokens_(static_cast<double>(burst)) {}

  // Takes `n` tokens if there are that many at `now_ns` (monotonic).
  [[nodiscard]] bool take(std::uint64_t now_ns, std::uint64_t n = 1) {
    if (now_ns > last_ns_) {
      const double refill = static_cast<double>(now_ns - last_ns_) * 1e-9 *
                            static_cast<double>(per_second_);
      tokens_ = std::min(static_cast<double>(burst_), tokens_ + refill);
      last_ns_ = now_ns;
    }
    if (tokens_ < static_cast<double>(n)) return false;
    tokens_ -= static_cast<double>(n);
    return true;
  }

  [[nodiscard]] std::uint64_t per_second() const { return per_second_; }

 private:
  std::uint64_t per_second_;
  std::uint64_t burst_;
  double tokens_;
  std::uint64_t last_ns_ = 0;
};

}  // namespace phalanx::net
