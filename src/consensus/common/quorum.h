// Quorum arithmetic (DESIGN.md, "Quorums").
//
// With n replicas and quorums of q, any two quorums share 2q−n replicas, so
//   safety holds while Byzantine replicas b ≤ 2q−n−1 (two quorums always share an honest one),
//   liveness holds while unavailable replicas u ≤ n−q (a quorum of live replicas remains).
// Byzantine default: f = ⌊(n−1)/3⌋, q = ⌈(n+f+1)/2⌉ (2f+1 when n = 3f+1). An operator may
// raise q with a quorum ratio (q = max(default, ⌈ratio·n⌉)) to buy safety margin with
// liveness. q is fixed when the cluster is created; no replica changes it from its own view.
//
//   Result<Quorum> q = Quorum::byzantine(4);          // n 4, q 3: safe with 1 liar, live with 1
//   down Result<Quorum> r = Quorum::byzantine(10, 0.75);   // q 8: safe with 5, live with 2
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "core/error.h"

namespace phalanx::consensus {

class Quorum {
 public:
  static constexpr std::uint32_t kReplicasMax = 1024;

  // Crash mode: a majority, q = ⌊n/2⌋+1. kInvalidArgument unless 1 ≤ n ≤ kReplicasMax.
  [[nodiscard]] static Result<Quorum> crash(std::uint32_t n);
  // Byzantine mode. kInvalidArgument if n is out of range or below 4 (with
  // fewer, one liar can stop or split the cluster), or the ratio is not in
  // (0, 1].
  [[nodiscard]] static Result<Quorum> byzantine(std::uint32_t n,
                                                std::optional<double> ratio = std::nullopt);
  // A committed (n, q), e.g. read back from a manifest. Also kInvalidArgument
  // if q > n or two quorums need not share an honest replica (2q−n−1 < 1).
  [[nodiscard]] static Result<Quorum> byzantine_exact(std::uint32_t n, std::uint32_t q);

  [[nodiscard]] std::uint32_t replicas() const { return n_; }
  [[nodiscard]] std::uint32_t size() const { return q_; }
  // Byzantine replicas that cannot break safety: 2q−n−1 (for crash mode,
  // where replicas do not lie, this is not a guarantee the protocol makes).
  [[nodiscard]] std::uint32_t safety_tolerance() const { return 2 * q_ - n_ - 1; }
  // Unavailable replicas that cannot stop progress: n−q.
  [[nodiscard]] std::uint32_t liveness_tolerance() const { return n_ - q_; }
  // f+1: enough matching replies that at least one is from an honest replica.
  [[nodiscard]] std::uint32_t reply_quorum() const { return safety_tolerance() + 1; }
  [[nodiscard]] bool reached(std::size_t votes) const { return votes >= q_; }

  // "n 4, q 3: safe with up to 1 Byzantine replica, live with up to 1 unavailable"
  [[nodiscard]] std::string describe() const;

 private:
  Quorum(std::uint32_t n, std::uint32_t q) : n_(n), q_(q) {}
  std::uint32_t n_;
  std::uint32_t q_;
};

}  // namespace phalanx::consensus
