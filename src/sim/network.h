// A simulated network: per-message latency (so reordering), loss,
// duplication, and cut links (symmetric or one-way partitions), all drawn
// from the simulation's one Random. Generic over the message type so both
// protocols run on it.
//
//   SimNetwork<Msg> net(rng);
//   net.send(now_ms, from, to, msg);
//   for (auto& d : net.due(now_ms)) deliver(d.from, d.to, d.message);
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <utility>
#include <vector>

#include "core/ids.h"
#include "core/random.h"

namespace phalanx::sim {

struct NetworkFaults {
  std::uint32_t loss_per_mille = 0;
  std::uint32_t duplicate_per_mille = 0;
  std::uint64_t latency_ms_min = 1;
  std::uint64_t latency_ms_max = 10;
};

struct NetworkStats {
  std::uint64_t sent = 0;
  std::uint64_t dropped = 0;  // lost or cut
  std::uint64_t duplicated = 0;
  std::uint64_t delivered = 0;
};

template <class Msg>
class SimNetwork {
 public:
  struct Delivery {
    NodeId from;  // the true sender: what an authenticated channel proves
    NodeId to;
    Msg message;
  };

  explicit SimNetwork(Random& rng) : rng_(rng) {}

  void set_faults(const NetworkFaults& faults) { faults_ = faults; }
  void cut(NodeId from, NodeId to) { cut_.insert({from, to}); }
  void heal() { cut_.clear(); }
  [[nodiscard]] bool is_cut(NodeId from, NodeId to) const { return cut_.contains({from, to}); }
  [[nodiscard]] const NetworkStats& stats() const { return stats_; }

  void send(std::uint64_t now_ms, NodeId from, NodeId to, Msg message) {
    ++stats_.sent;
    if (is_cut(from, to) || roll(faults_.loss_per_mille)) {
      ++stats_.dropped;
      return;
    }
    if (roll(faults_.duplicate_per_mille)) {
      ++stats_.duplicated;
      enqueue(now_ms, from, to, message);
    }
    enqueue(now_ms, from, to, std::move(message));
  }

  // Everything due by `now_ms`, earliest first (ties in send order).
  [[nodiscard]] std::vector<Delivery> due(std::uint64_t now_ms) {
    std::vector<Delivery> out;
    while (!queue_.empty() && queue_.begin()->first.first <= now_ms) {
      out.push_back(std::move(queue_.begin()->second));
      queue_.erase(queue_.begin());
    }
    stats_.delivered += out.size();
    return out;
  }

  // Drops everything in flight to `node` (its process died), and with
  // `outgoing` each message it sent that is still in flight with
  // probability 1/2 (its machine lost power: some packets had left, some
  // were still in its buffers).
  void forget(NodeId node, bool outgoing) {
    for (auto it = queue_.begin(); it != queue_.end();) {
      const bool drop =
          it->second.to == node || (outgoing && it->second.from == node && rng_.coin());
      it = drop ? queue_.erase(it) : std::next(it);
    }
  }

 private:
  bool roll(std::uint32_t per_mille) { return per_mille > 0 && rng_.uniform(1000) < per_mille; }

  void enqueue(std::uint64_t now_ms, NodeId from, NodeId to, Msg message) {
    const std::uint64_t at = now_ms + rng_.between(faults_.latency_ms_min, faults_.latency_ms_max);
    queue_.emplace(std::make_pair(at, sequence_++), Delivery{from, to, std::move(message)});
  }

  Random& rng_;
  NetworkFaults faults_;
  NetworkStats stats_;
  std::set<std::pair<NodeId, NodeId>> cut_;
  std::map<std::pair<std::uint64_t, std::uint64_t>, Delivery> queue_;
  std::uint64_t sequence_ = 0;
};

}  // namespace phalanx::sim
