// What both cluster simulators share: the clients' key-value workload, the
// trace (its tail for reports, its hash for replay checks), and random
// partitions. Every draw comes from the simulation's one Random.
#pragma once

#include <deque>
#include <string>
#include <vector>

#include "apps/kv/kv.h"
#include "core/random.h"
#include "crypto/hash.h"
#include "sim/network.h"

namespace phalanx::sim {

// A put, get, compare-and-set or delete on one of five keys.
[[nodiscard]] kv::KvCommand random_kv_command(Random& rng, ClientId client, std::uint64_t sequence);

// The events of a run: all of them hashed (with their time), the last
// `tail` kept as text.
class TraceLog {
 public:
  explicit TraceLog(std::size_t tail = 40) : tail_max_(tail) {}
  void add(std::uint64_t now_ms, std::string what);
  [[nodiscard]] std::vector<std::string> tail() const;
  [[nodiscard]] crypto::Hash32 finish() { return hasher_.finish(); }

 private:
  struct Event {
    std::uint64_t at;
    std::string what;
  };
  std::size_t tail_max_;
  crypto::Hasher hasher_;
  std::deque<Event> events_;
};

// Cuts the network: either a symmetric partition (each of `nodes` on a
// random side) or one one-way link between two nodes drawn by `pick`.
// Returns what it did, for the trace.
template <class Msg, class Pick>
std::string cut_random_partition(Random& rng, SimNetwork<Msg>& net,
                                 const std::vector<NodeId>& nodes, Pick&& pick) {
  if (rng.coin()) {
    std::vector<bool> side(nodes.size());
    for (std::size_t i = 0; i < side.size(); ++i) side[i] = rng.coin();
    for (std::size_t a = 0; a < side.size(); ++a) {
      for (std::size_t b = 0; b < side.size(); ++b) {
        if (side[a] != side[b]) net.cut(nodes[a], nodes[b]);
      }
    }
    return "partition (symmetric)";
  }
  const NodeId from = pick();
  const NodeId to = pick();
  net.cut(from, to);
  return "partition (one-way " + std::to_string(from.value()) + "->" +
         std::to_string(to.value()) + ")";
}

// Cuts `id` off from every one of `others`, both ways (the service check's
// partition: replicas and clients alike).
template <class Msg>
void isolate(SimNetwork<Msg>& net, NodeId id, const std::vector<NodeId>& others) {
  for (NodeId other : others) {
    net.cut(id, other);
    net.cut(other, id);
  }
}

}  // namespace phalanx::sim
