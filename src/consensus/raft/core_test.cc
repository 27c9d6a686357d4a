// Edge cases of the Raft core, on an instant in-memory network.
#include "consensus/raft/core.h"

#include <gtest/gtest.h>

#include "testing/raft_cluster.h"

namespace phalanx::raft {
namespace {

using Harness = testing::TestCluster;

TEST(RaftCore, SingleNodeElectsItselfAndCommitsOnceItsLogIsDurable) {
  Harness h(1);
  h.tick_all(25);
  ASSERT_EQ(h.node(1).role(), RaftRole::kLeader);
  auto index = h.node(1).propose(to_bytes("x"));
  ASSERT_TRUE(std::holds_alternative<LogIndex>(index));
  Ready r = h.node(1).take_ready();
  EXPECT_EQ(r.append.size(), 1u);
  EXPECT_TRUE(r.committed.empty());  // not on disk anywhere yet
  h.node(1).log_durable(std::get<LogIndex>(index));
  r = h.node(1).take_ready();
  ASSERT_EQ(r.committed.size(), 1u);
  EXPECT_EQ(r.committed[0].data, to_bytes("x"));
}

// Background sync: a leader's AppendEntries leave before its own fsync.
TEST(RaftCore, ALeaderCountsItsOwnLogTowardACommitOnlyOnceDurable) {
  Harness h(3);
  h.tick_all(30);
  const NodeId leader = *h.leader();
  Core& l = h.node(leader.value());
  std::vector<std::uint64_t> followers;
  for (std::uint64_t i = 1; i <= 3; ++i) {
    if (i != leader.value()) followers.push_back(i);
  }
  // The follower persists what it got (instantly here) and answers.
  auto exchange = [&](const Ready& from_leader) {
    for (const Message& m : from_leader.messages) h.deliver(m);
    for (std::uint64_t f : followers) {
      Ready fr = h.node(f).take_ready();
      h.node(f).log_durable(h.node(f).last_index());
      for (const Message& m : fr.messages) h.deliver(m);
    }
  };
  h.isolate(followers[1]);  // one follower's ack alone is no quorum: the leader's copy counts
  const LogIndex first = std::get<LogIndex>(l.propose(to_bytes("x")));
  Ready r = l.take_ready();
  ASSERT_EQ(r.append.size(), 1u);
  exchange(r);
  EXPECT_LT(l.commit_index(), first);
  l.log_durable(first);
  EXPECT_EQ(l.commit_index(), first);

  h.heal();
  h.settle();  // the cut-off follower catches up
  // Two followers' acks are a quorum without the leader's own copy.
  const LogIndex second = std::get<LogIndex>(l.propose(to_bytes("y")));
  exchange(l.take_ready());
  EXPECT_EQ(l.durable_index(), first);
  EXPECT_EQ(l.commit_index(), second);
}

TEST(RaftCore, ThreeNodesElectOneLeaderAndReplicate) {
  Harness h(3);
  h.tick_all(30);
  const auto leader = h.leader();
  ASSERT_TRUE(leader);
  int leaders = 0;
  for (std::uint64_t i = 1; i <= 3; ++i) leaders += h.node(i).role() == RaftRole::kLeader ? 1 : 0;
  EXPECT_EQ(leaders, 1);
  for (int k = 0; k < 5; ++k)
    (void)h.node(leader->value()).propose(to_bytes("cmd" + std::to_string(k)));
  h.settle();
  h.tick_all(3);  // heartbeats carry the final commit index
  for (std::uint64_t i = 1; i <= 3; ++i) {
    const auto& applied = h.applied(i);
    ASSERT_EQ(applied.size(), 6u) << "node " << i;  // the leader's no-op + 5 commands
    EXPECT_EQ(applied[0].kind, EntryKind::kNoop);
    EXPECT_EQ(applied[5].data, to_bytes("cmd4"));
  }
}

TEST(RaftCore, FollowerAnswersNotLeaderWithAHint) {
  Harness h(3);
  h.tick_all(30);
  const NodeId leader = *h.leader();
  const std::uint64_t follower = leader.value() == 1 ? 2 : 1;
  auto r = h.node(follower).propose(to_bytes("x"));
  ASSERT_TRUE(std::holds_alternative<NotLeader>(r));
  EXPECT_EQ(std::get<NotLeader>(r).leader_hint, leader);
}

TEST(RaftCore, VoteIsPersistedInTheSameReadyAsTheReply) {
  // The runner persists a Ready before sending its messages, so a vote
  // reply must never travel in a Ready that lacks the vote.
  Harness h(3);
  int grants = 0;
  for (int t = 0; t < 30; ++t) {
    for (std::uint64_t i = 1; i <= 3; ++i) h.node(i).tick();
    for (auto& [id, readies] : h.settle()) {
      for (const Ready& r : readies) {
        for (const Message& m : r.messages) {
          const auto* reply = std::get_if<RequestVoteReply>(&m.body);
          if (reply == nullptr || !reply->granted) continue;
          ++grants;
          ASSERT_TRUE(r.hard_state.has_value());
          EXPECT_EQ(r.hard_state->voted_for, m.to);
          EXPECT_EQ(r.hard_state->term, m.term);
        }
      }
    }
  }
  EXPECT_GE(grants, 1);
}

TEST(RaftCore, PreVoteKeepsAnIsolatedNodeFromInflatingItsTerm) {
  Harness h(3);
  h.tick_all(30);
  const NodeId leader = *h.leader();
  const std::uint64_t lonely = leader.value() == 3 ? 2 : 3;
  const Term before = h.node(lonely).term();
  h.isolate(lonely);
  h.tick_all(200);
  EXPECT_EQ(h.node(lonely).term(), before);  // pre-votes fail, no real campaign
  h.heal();
  h.tick_all(30);
  EXPECT_EQ(h.node(leader.value()).role(), RaftRole::kLeader)
      << "the healthy leader was not disrupted";
}

TEST(RaftCore, CheckQuorumMakesAnIsolatedLeaderStepDown) {
  Harness h(3);
  h.tick_all(30);
  const NodeId leader = *h.leader();
  h.isolate(leader.value());
  h.tick_all(40);
  EXPECT_NE(h.node(leader.value()).role(), RaftRole::kLeader);
}

TEST(RaftCore, DivergentUncommittedEntriesAreTruncated) {
  Harness h(3);
  h.tick_all(30);
  const NodeId old_leader = *h.leader();
  h.isolate(old_leader.value());
  // The isolated leader accepts entries it can never commit.
  for (int k = 0; k < 3; ++k) (void)h.node(old_leader.value()).propose(to_bytes("lost"));
  h.tick_all(60);  // the others elect a new leader and commit new entries
  const NodeId new_leader = *h.leader();
  ASSERT_NE(new_leader, old_leader);
  (void)h.node(new_leader.value()).propose(to_bytes("kept"));
  h.settle();
  h.heal();
  bool truncated = false;
  for (int t = 0; t < 20; ++t) {
    for (std::uint64_t i = 1; i <= 3; ++i) h.node(i).tick();
    for (auto& [id, readies] : h.settle()) {
      for (const Ready& r : readies) truncated |= id == old_leader && r.truncate_from.has_value();
    }
  }
  EXPECT_TRUE(truncated);
  for (const Entry& e : h.node(old_leader.value()).log()) EXPECT_NE(e.data, to_bytes("lost"));
  EXPECT_EQ(h.node(old_leader.value()).log(), h.node(new_leader.value()).log());
}

TEST(RaftCore, LeadershipTransferHandsOverWithoutDisruption) {
  Harness h(3);
  h.tick_all(30);
  const NodeId old_leader = *h.leader();
  const NodeId target{old_leader.value() % 3 + 1};
  const Term before = h.node(old_leader.value()).term();
  ASSERT_TRUE(h.node(old_leader.value()).transfer_leadership(target));
  // While handing over, proposals are sent to the target.
  auto refused = h.node(old_leader.value()).propose(to_bytes("x"));
  ASSERT_TRUE(std::holds_alternative<NotLeader>(refused));
  EXPECT_EQ(std::get<NotLeader>(refused).leader_hint, target);
  h.settle();
  EXPECT_EQ(h.node(target.value()).role(), RaftRole::kLeader);
  EXPECT_EQ(h.node(target.value()).term(), before.next());  // one election, no churn
  EXPECT_EQ(h.node(old_leader.value()).role(), RaftRole::kFollower);
  EXPECT_FALSE(h.node(old_leader.value()).transfer_leadership(target));  // no longer leads
}

TEST(RaftCore, TransferToANonVoterIsRefused) {
  Harness h(3);
  h.tick_all(30);
  Core& leader = h.node(h.leader()->value());
  EXPECT_EQ(leader.transfer_leadership(NodeId{9}).error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(leader.transfer_leadership(leader.id()).error().code(), ErrorCode::kInvalidArgument);
}

// Raft §5.4.2 / Figure 8: a leader must not commit an entry of an earlier
// term by counting replicas, only together with an entry of its own term.
std::uint64_t commit_after_old_entry_reaches_majority(bool planted_bug) {
  security::TrustRegistry registry;
  for (std::uint64_t i = 1; i <= 3; ++i) {
    crypto::Seed s;
    s[0] = static_cast<std::uint8_t>(i);
    EXPECT_TRUE(
        registry.add({Principal::replica(NodeId{i}), crypto::KeyPair::from_seed(s).public_key(),
                      phalanx::Role::kReplica}));
  }
  const security::Policy policy = security::Policy::standard();
  auto deliver = [&](Core& core, Message m) {
    auto a = security::verify_channel(registry, Principal::replica(m.from), Untrusted<Message>(m));
    core.step(*security::authorize(policy, *a));
  };
  Config c{.id = NodeId{1}, .voters = {NodeId{1}, NodeId{2}, NodeId{3}}};
  c.entries_per_message_max = 1;
  c.TEST_commit_previous_term_entries = planted_bug;
  // Node 1 holds an uncommitted entry of term 1 at index 2; node 2 only index 1.
  Core a(c,
         Persisted{{Term{2}, std::nullopt, LogIndex{1}},
                   std::nullopt,
                   {{Term{1}, LogIndex{1}, EntryKind::kNoop, {}},
                    {Term{1}, LogIndex{2}, EntryKind::kCommand, to_bytes("old")}}},
         3);
  while (a.role() != RaftRole::kPreCandidate) a.tick();
  (void)a.take_ready();
  deliver(a, Message{NodeId{2}, NodeId{1}, Term{3}, PreVoteReply{true}});
  EXPECT_EQ(a.role(), RaftRole::kCandidate);
  deliver(a, Message{NodeId{2}, NodeId{1}, Term{3}, RequestVoteReply{true}});
  EXPECT_EQ(a.role(), RaftRole::kLeader);  // term 3, no-op at index 3
  (void)a.take_ready();
  // Node 2 lacks index 2, then takes it: the term-1 entry is now on 2 of 3.
  deliver(a, Message{NodeId{2}, NodeId{1}, Term{3},
                     AppendEntriesReply{false, LogIndex{0}, LogIndex{2}}});
  deliver(a, Message{NodeId{2}, NodeId{1}, Term{3},
                     AppendEntriesReply{true, LogIndex{2}, LogIndex{0}}});
  return a.commit_index().value();
}

TEST(RaftCore, OldTermEntryIsNotCommittedByCounting) {
  EXPECT_EQ(commit_after_old_entry_reaches_majority(false), 1u);
  // The planted bug commits it, which Figure 8 shows can later be overwritten.
  EXPECT_EQ(commit_after_old_entry_reaches_majority(true), 2u);
}

TEST(RaftCore, RestartedNodeReappliesCommittedEntries) {
  std::vector<Entry> log = {{Term{1}, LogIndex{1}, EntryKind::kNoop, {}},
                            {Term{1}, LogIndex{2}, EntryKind::kCommand, to_bytes("a")}};
  Config c{.id = NodeId{1}, .voters = {NodeId{1}, NodeId{2}, NodeId{3}}};
  Core core(c, Persisted{{Term{1}, NodeId{1}, LogIndex{2}}, std::nullopt, log}, 7);
  EXPECT_EQ(core.term(), Term{1});
  EXPECT_EQ(core.commit_index(), LogIndex{2});
  Ready r = core.take_ready();
  ASSERT_EQ(r.committed.size(), 2u);
  EXPECT_EQ(r.committed[1].data, to_bytes("a"));
}

}  // namespace
}  // namespace phalanx::raft
