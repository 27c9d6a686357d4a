// A byzantine-mode client's acceptance rule: one request's result is
// accepted once `needed` (f+1) distinct replicas signed the same result, so
// at least one honest replica vouches for it.
//
//   ReplyQuorum q(quorum.reply_quorum());
//   if (auto result = q.add(verified_reply)) accept(*result);
//
// A replica's second, different reply for the same request does not count
// (it is noted in conflicting()), so a liar cannot vote twice.
#pragma once

#include <map>
#include <optional>
#include <set>

#include "consensus/common/client_reply.h"

namespace phalanx::consensus {

class ReplyQuorum {
 public:
  explicit ReplyQuorum(std::size_t needed) : needed_(needed) {}

  // `reply` must be signature-checked and be for this request. Returns the
  // result once `needed` replicas agree on it (and on every later call).
  std::optional<Bytes> add(const ClientReply& reply) {
    const auto [it, fresh] = first_.try_emplace(reply.replica, reply.result);
    if (!fresh && it->second != reply.result) conflicting_.insert(reply.replica);
    if (fresh) {
      const std::size_t agreeing = ++count_[reply.result];
      if (agreeing >= needed_ && !accepted_) accepted_ = reply.result;
    }
    return accepted_;
  }

  [[nodiscard]] const std::optional<Bytes>& accepted() const { return accepted_; }
  // Replicas that sent two different results for this one request.
  [[nodiscard]] const std::set<NodeId>& conflicting() const { return conflicting_; }

 private:
  std::size_t needed_;
  std::map<NodeId, Bytes> first_;
  std::map<Bytes, std::size_t> count_;
  std::optional<Bytes> accepted_;
  std::set<NodeId> conflicting_;
};

}  // namespace phalanx::consensus
