#include "consensus/common/quorum.h"

#include <fmt/format.h>

#include <cmath>

namespace phalanx::consensus {
namespace {

Status check_size(std::uint32_t n) {
  if (n == 0 || n > Quorum::kReplicasMax) {
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("{} replicas: the cluster needs 1 to {}", n, Quorum::kReplicasMax));
  }
  return {};
}

}  // namespace

Result<Quorum> Quorum::crash(std::uint32_t n) {
  PHALANX_TRY(check_size(n));
  return Quorum(n, n / 2 + 1);
}

Result<Quorum> Quorum::byzantine(std::uint32_t n, std::optional<double> ratio) {
  PHALANX_TRY(check_size(n));
  const std::uint32_t f = (n - 1) / 3;
  std::uint32_t q = (n + f + 2) / 2;  // ⌈(n+f+1)/2⌉
  if (ratio) {
    if (!(*ratio > 0.0 && *ratio <= 1.0)) {
      return fail(ErrorCode::kInvalidArgument,
                  fmt::format("quorum ratio {} is not in (0, 1]", *ratio));
    }
    q = std::max(q, static_cast<std::uint32_t>(std::ceil(*ratio * n - 1e-9)));
  }
  return byzantine_exact(n, q);
}

Result<Quorum> Quorum::byzantine_exact(std::uint32_t n, std::uint32_t q) {
  PHALANX_TRY(check_size(n));
  if (n < 4) {
    return fail(
        ErrorCode::kInvalidArgument,
        fmt::format("{} replicas tolerate no Byzantine replica: byzantine mode needs n >= 4 "
                    "(n >= 3f+1 with f >= 1)",
                    n));
  }
  if (q > n) {
    return fail(ErrorCode::kInvalidArgument, fmt::format("quorum {} exceeds {} replicas", q, n));
  }
  // Two quorums must share at least one honest replica with one liar: 2q−n ≥ 2.
  if (2 * q < n + 2) {
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("{} replicas with quorum {} tolerate no Byzantine replica (need "
                            "2q-n-1 >= 1; n >= 4 and q >= {})",
                            n, q, (n + 3) / 2));
  }
  return Quorum(n, q);
}

std::string Quorum::describe() const {
  return fmt::format(
      "n {}, q {}: safe with up to {} Byzantine replica{}, live with up to {} unavailable", n_, q_,
      safety_tolerance(), safety_tolerance() == 1 ? "" : "s", liveness_tolerance());
}

}  // namespace phalanx::consensus
