#include "consensus/raft/membership.h"

#include <fmt/format.h>

#include <algorithm>

namespace phalanx::raft {
namespace {

bool contains(const std::vector<NodeId>& ids, NodeId id) {
  return std::binary_search(ids.begin(), ids.end(), id);
}

bool majority(const std::vector<NodeId>& voters, const std::set<NodeId>& acks) {
  std::size_t n = 0;
  for (NodeId v : voters) n += acks.contains(v) ? 1 : 0;
  return n >= voters.size() / 2 + 1;
}

// The (⌊n/2⌋+1)-th highest of the voters' indexes: that many hold at least it.
LogIndex majority_index(const std::vector<NodeId>& voters,
                        const std::function<LogIndex(NodeId)>& held) {
  std::vector<LogIndex> indexes;
  indexes.reserve(voters.size());
  for (NodeId v : voters) indexes.push_back(held(v));
  const auto kth = indexes.begin() + static_cast<std::ptrdiff_t>(voters.size() / 2);
  std::nth_element(indexes.begin(), kth, indexes.end(), std::greater<>());
  return *kth;
}

bool sorted_unique(const std::vector<NodeId>& ids) {
  return std::adjacent_find(ids.begin(), ids.end(), [](NodeId a, NodeId b) { return a >= b; }) ==
         ids.end();
}

std::vector<NodeId> merged(const std::vector<NodeId>& a, const std::vector<NodeId>& b) {
  std::vector<NodeId> out;
  std::set_union(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(out));
  return out;
}

std::string join(const std::vector<NodeId>& ids) {
  std::string out;
  for (NodeId id : ids) out += (out.empty() ? "" : ",") + std::to_string(id.value());
  return out;
}

}  // namespace

bool Membership::is_voter(NodeId id) const {
  return contains(voters, id) || contains(outgoing, id);
}

bool Membership::is_learner(NodeId id) const { return contains(learners, id); }

std::vector<NodeId> Membership::all_voters() const { return merged(voters, outgoing); }

std::vector<NodeId> Membership::members() const { return merged(all_voters(), learners); }

bool Membership::has_quorum(const std::set<NodeId>& acks) const {
  return majority(voters, acks) && (outgoing.empty() || majority(outgoing, acks));
}

LogIndex Membership::quorum_index(const std::function<LogIndex(NodeId)>& held) const {
  const LogIndex in_voters = majority_index(voters, held);
  return outgoing.empty() ? in_voters : std::min(in_voters, majority_index(outgoing, held));
}

Status Membership::validate() const {
  if (voters.empty()) return fail(ErrorCode::kInvalidArgument, "membership: no voters");
  if (voters.size() + outgoing.size() + learners.size() > kMembersMax) {
    return fail(ErrorCode::kInvalidArgument, "membership: too many members");
  }
  if (!sorted_unique(voters) || !sorted_unique(outgoing) || !sorted_unique(learners)) {
    return fail(ErrorCode::kInvalidArgument, "membership: ids must be sorted and unique");
  }
  for (NodeId l : learners) {
    if (is_voter(l)) {
      return fail(ErrorCode::kInvalidArgument,
                  "membership: node " + l.to_string() + " is both learner and voter");
    }
  }
  return {};
}

void Membership::encode(codec::Writer& w) const {
  const auto one = [](codec::Writer& out, NodeId id) { out.id(id); };
  w.sequence<NodeId>(voters, kMembersMax, one);
  w.sequence<NodeId>(outgoing, kMembersMax, one);
  w.sequence<NodeId>(learners, kMembersMax, one);
}

Result<Membership> Membership::decode(codec::Reader& r) {
  const std::size_t at = r.offset();
  const auto one = [](codec::Reader& in) { return in.id<NodeId>(); };
  Membership m;
  PHALANX_ASSIGN_OR_RETURN(m.voters, r.sequence<NodeId>(kMembersMax, one));
  PHALANX_ASSIGN_OR_RETURN(m.outgoing, r.sequence<NodeId>(kMembersMax, one));
  PHALANX_ASSIGN_OR_RETURN(m.learners, r.sequence<NodeId>(kMembersMax, one));
  if (!m.validate()) return codec::Reader::malformed(MalformedReason::kNonCanonical, at);
  return m;
}

std::string Membership::to_string() const {
  std::string out = "voters {" + join(voters) + "}";
  if (joint()) out += " outgoing {" + join(outgoing) + "}";
  if (!learners.empty()) out += " learners {" + join(learners) + "}";
  return out;
}

}  // namespace phalanx::raft
