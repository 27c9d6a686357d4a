// Cluster membership for crash mode: voters, learners, and the joint
// configuration used while voters change (Raft thesis §4.3).
//
// While joint, a decision (election, commit, read confirmation, check-quorum)
// needs a majority of `voters` AND a majority of `outgoing`, so no two
// quorums chosen under the old and the new configuration can be disjoint.
// Learners receive the log but never vote and are never counted.
//
//   Membership m{.voters = {NodeId{1}, NodeId{2}, NodeId{3}}};
//   m.has_quorum({NodeId{1}, NodeId{3}});   // true
#pragma once

#include <functional>
#include <set>
#include <vector>

#include "core/codec.h"
#include "core/ids.h"

namespace phalanx::raft {

struct Membership {
  static constexpr std::size_t kMembersMax = 1024;

  std::vector<NodeId> voters = {};    // sorted, unique, non-empty
  std::vector<NodeId> outgoing = {};  // the previous voters while joint; empty otherwise
  std::vector<NodeId> learners = {};  // sorted, unique, disjoint from voters and outgoing

  [[nodiscard]] bool joint() const { return !outgoing.empty(); }
  // In `voters` or `outgoing`: it votes and is counted.
  [[nodiscard]] bool is_voter(NodeId id) const;
  [[nodiscard]] bool is_learner(NodeId id) const;
  // Every voter (both halves while joint) and learner, sorted, unique.
  [[nodiscard]] std::vector<NodeId> members() const;
  // Every voter of either half, sorted, unique.
  [[nodiscard]] std::vector<NodeId> all_voters() const;
  // A majority of `voters` and, while joint, a majority of `outgoing`.
  [[nodiscard]] bool has_quorum(const std::set<NodeId>& acks) const;
  // The highest index a quorum holds, given how far each voter holds the
  // log: the largest n for which has_quorum({v : held(v) >= n}).
  [[nodiscard]] LogIndex quorum_index(const std::function<LogIndex(NodeId)>& held) const;

  // kInvalidArgument naming the broken rule (unsorted, duplicate, empty
  // voters, a learner that also votes, too many members).
  [[nodiscard]] Status validate() const;

  void encode(codec::Writer& w) const;
  // Also rejects (kNonCanonical) anything validate() rejects.
  [[nodiscard]] static Result<Membership> decode(codec::Reader& r);
  bool operator==(const Membership&) const = default;
  [[nodiscard]] std::string to_string() const;
};

}  // namespace phalanx::raft
