// Membership: the quorum rule, the encoding, and changes in a running cluster.
#include "consensus/raft/membership.h"

#include <gtest/gtest.h>

#include "testing/raft_cluster.h"

namespace phalanx::raft {
namespace {

using testing::TestCluster;

std::vector<NodeId> ids(std::initializer_list<std::uint64_t> list) {
  std::vector<NodeId> out;
  for (std::uint64_t v : list) out.push_back(NodeId{v});
  return out;
}
std::set<NodeId> acks(std::initializer_list<std::uint64_t> list) {
  std::set<NodeId> out;
  for (std::uint64_t v : list) out.insert(NodeId{v});
  return out;
}

TEST(Membership, JointConfigurationNeedsBothMajorities) {
  const Membership joint{.voters = ids({1, 4, 5}), .outgoing = ids({1, 2, 3})};
  EXPECT_FALSE(joint.has_quorum(acks({1, 2})));       // old majority only
  EXPECT_FALSE(joint.has_quorum(acks({1, 4})));       // new majority, old minority
  EXPECT_FALSE(joint.has_quorum(acks({4, 5})));       // new majority only
  EXPECT_TRUE(joint.has_quorum(acks({1, 2, 4})));     // both
  EXPECT_TRUE(joint.has_quorum(acks({2, 3, 4, 5})));  // both, without the shared node
  EXPECT_TRUE(joint.is_voter(NodeId{2}));
  EXPECT_EQ(joint.all_voters(), ids({1, 2, 3, 4, 5}));
}

TEST(Membership, LearnersAreNeverCounted) {
  const Membership m{.voters = ids({1, 2, 3}), .learners = ids({4, 5, 6})};
  EXPECT_FALSE(m.has_quorum(acks({1, 4, 5, 6})));
  EXPECT_TRUE(m.has_quorum(acks({1, 3})));
  EXPECT_FALSE(m.is_voter(NodeId{4}));
  EXPECT_EQ(m.members(), ids({1, 2, 3, 4, 5, 6}));
}

TEST(Membership, DecodeAcceptsOnlyTheCanonicalValidForm) {
  const Membership good{.voters = ids({1, 2, 3}), .learners = ids({7})};
  EXPECT_EQ(*codec::decode<Membership>(codec::encode(good)), good);
  const auto refused = [](Membership m) {
    codec::Writer w;
    const auto one = [](codec::Writer& out, NodeId id) { out.id(id); };
    w.sequence<NodeId>(m.voters, 100, one);
    w.sequence<NodeId>(m.outgoing, 100, one);
    w.sequence<NodeId>(m.learners, 100, one);
    Result<Membership> back = codec::decode<Membership>(w.buffer());
    return !back && back.error().code() == ErrorCode::kSecurity;  // MalformedInput
  };
  EXPECT_TRUE(refused({.voters = ids({2, 1})}));                        // unsorted
  EXPECT_TRUE(refused({.voters = ids({1, 1, 2})}));                     // duplicate
  EXPECT_TRUE(refused({.voters = {}}));                                 // no voters
  EXPECT_TRUE(refused({.voters = ids({1, 2}), .learners = ids({2})}));  // learner votes
  EXPECT_TRUE(refused({.voters = ids({1}), .outgoing = ids({3}), .learners = ids({3})}));
}

TEST(RaftMembership, ALearnerCatchesUpAndIsPromotedThroughJointConsensus) {
  TestCluster c(3, /*spares=*/1);
  c.tick_all(30);
  Core& leader = c.node(c.leader()->value());
  for (int k = 0; k < 5; ++k) (void)leader.propose(to_bytes("x"));
  c.settle();
  ASSERT_TRUE(leader.change_membership(ids({1, 2, 3}), ids({4})));
  c.settle();
  c.tick_all(5);
  EXPECT_EQ(c.node(4).log(), leader.log());
  EXPECT_TRUE(c.node(4).membership().is_learner(NodeId{4}));

  Result<LogIndex> joint = leader.change_membership(ids({1, 2, 3, 4}), {});
  ASSERT_TRUE(joint) << joint.error().to_string();
  EXPECT_TRUE(leader.membership().joint());
  EXPECT_EQ(leader.membership().outgoing, ids({1, 2, 3}));
  c.settle();
  c.tick_all(5);
  // The joint entry committed; the leader appended the final one itself.
  for (std::uint64_t n = 1; n <= 4; ++n) {
    EXPECT_EQ(c.node(n).membership(), (Membership{.voters = ids({1, 2, 3, 4})})) << n;
    EXPECT_EQ(c.node(n).commit_index(), leader.last_index()) << n;
  }
  EXPECT_GT(leader.last_index(), *joint);
}

TEST(RaftMembership, ALearnerNeverCampaigns) {
  TestCluster c(3, /*spares=*/1);
  c.tick_all(30);
  Core& leader = c.node(c.leader()->value());
  ASSERT_TRUE(leader.change_membership(ids({1, 2, 3}), ids({4})));
  c.settle();
  const Term before = c.node(4).term();
  c.isolate(4);  // it hears from no leader
  c.tick_all(200);
  EXPECT_EQ(c.node(4).role(), RaftRole::kFollower);
  EXPECT_EQ(c.node(4).term(), before);
}

TEST(RaftMembership, PromotionWaitsUntilTheLearnerHasCaughtUp) {
  TestCluster c(3, /*spares=*/1);
  c.tick_all(30);
  Core& leader = c.node(c.leader()->value());
  ASSERT_TRUE(leader.change_membership(ids({1, 2, 3}), ids({4})));
  c.settle();
  c.isolate(4);
  for (int k = 0; k < 5; ++k) (void)leader.propose(to_bytes("x"));
  c.settle();
  Result<LogIndex> early = leader.change_membership(ids({1, 2, 3, 4}), {});
  ASSERT_FALSE(early);
  EXPECT_NE(early.error().message().find("has not caught up"), std::string::npos);
  c.heal();
  c.tick_all(5);
  EXPECT_TRUE(leader.change_membership(ids({1, 2, 3, 4}), {}));
}

TEST(RaftMembership, ChangesAreRefusedUnlessSafe) {
  TestCluster c(3, /*spares=*/1);
  c.tick_all(30);
  const NodeId l = *c.leader();
  Core& leader = c.node(l.value());
  const std::uint64_t follower = l.value() % 3 + 1;
  EXPECT_FALSE(c.node(follower).change_membership(ids({1, 2}), {}));  // not the leader
  Result<LogIndex> stranger = leader.change_membership(ids({1, 2, 3, 4}), {});
  ASSERT_FALSE(stranger);
  EXPECT_NE(stranger.error().message().find("must join as a learner first"), std::string::npos);
  EXPECT_FALSE(leader.change_membership(ids({1, 2, 3}), {}));  // nothing would change
  EXPECT_FALSE(leader.change_membership({}, ids({1, 2, 3})));  // no voters
  // One change at a time: while the first cannot commit, a second is refused.
  c.isolate(l.value());
  ASSERT_TRUE(leader.change_membership(ids({1, 2, 3}), ids({4})));
  Result<LogIndex> second = leader.change_membership(ids({1, 2, 3}), {});
  ASSERT_FALSE(second);
  EXPECT_NE(second.error().message().find("has not finished"), std::string::npos);
}

TEST(RaftMembership, ARemovedLeaderStepsDownOnceTheChangeCommits) {
  TestCluster c(3);
  c.tick_all(30);
  const NodeId old = *c.leader();
  std::vector<NodeId> rest;
  for (std::uint64_t n = 1; n <= 3; ++n) {
    if (n != old.value()) rest.push_back(NodeId{n});
  }
  ASSERT_TRUE(c.node(old.value()).change_membership(rest, {}));
  c.settle();
  c.tick_all(60);
  EXPECT_NE(c.node(old.value()).role(), RaftRole::kLeader);
  const std::optional<NodeId> next = c.leader();
  ASSERT_TRUE(next);
  EXPECT_NE(*next, old);
  EXPECT_EQ(c.node(next->value()).membership(), (Membership{.voters = rest}));
  // The new pair commits on its own.
  ASSERT_TRUE(std::holds_alternative<LogIndex>(c.node(next->value()).propose(to_bytes("y"))));
  c.settle();
  c.tick_all(3);
  EXPECT_EQ(c.applied(rest[0].value()).back().data, to_bytes("y"));
  EXPECT_EQ(c.applied(rest[1].value()).back().data, to_bytes("y"));
}

}  // namespace
}  // namespace phalanx::raft
