#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <map>

#include "consensus/raft/membership.h"

namespace phalanx::raft {
namespace {

// Sorted, unique ids drawn from 1..9 (a subset, as a bit mask: a unique
// container of nine possible values made RapidCheck give up generating
// whenever the size it asked for was above nine, failing the property).
std::vector<NodeId> some_ids(std::size_t at_least) {
  const auto mask = *rc::gen::inRange<std::uint32_t>(0, 1u << 9);
  std::vector<std::uint64_t> raw;
  for (std::uint64_t id = 1; id <= 9; ++id) {
    if ((mask >> (id - 1)) & 1u) raw.push_back(id);
  }
  while (raw.size() < at_least) raw.push_back(10 + raw.size());
  std::sort(raw.begin(), raw.end());
  std::vector<NodeId> ids;
  for (std::uint64_t id : raw) ids.push_back(NodeId{id});
  return ids;
}

// The quorum index is exactly the highest index that has_quorum admits, in
// a plain and in a joint configuration: the commit rule counted two ways.
RC_GTEST_PROP(Membership, QuorumIndexIsTheHighestIndexAQuorumHolds, ()) {
  Membership m{.voters = some_ids(1)};
  if (*rc::gen::arbitrary<bool>()) m.outgoing = some_ids(1);
  std::map<NodeId, LogIndex> held;
  for (NodeId v : m.all_voters()) held[v] = LogIndex{*rc::gen::inRange<std::uint64_t>(0, 20)};
  const LogIndex q = m.quorum_index([&](NodeId v) { return held.at(v); });
  const auto holders = [&](std::uint64_t n) {
    std::set<NodeId> acks;
    for (const auto& [v, i] : held) {
      if (i.value() >= n) acks.insert(v);
    }
    return acks;
  };
  RC_ASSERT(q.value() == 0 || m.has_quorum(holders(q.value())));
  RC_ASSERT(!m.has_quorum(holders(q.value() + 1)));
}

}  // namespace
}  // namespace phalanx::raft
