// Each safety rule has a test that a vote or timeout it forbids is refused,
// and that what it allows is signed and recorded.
#include "consensus/bft/safety.h"

#include <gtest/gtest.h>

#include "testing/bft_fixture.h"

namespace phalanx::bft {
namespace {

using testing::Fixture;

class Safety : public ::testing::Test {
 protected:
  Fixture f{4};
  SafetyRules rules{NodeId{2}, testing::key_of(NodeId{2}),
                    SafetyData{Epoch{1}, Round{0}, Round{0}}};
  const Block b1 = f.block(Round{1}, genesis_qc(Epoch{1}));
  const Block b2 = f.block(Round{2}, f.qc_for(b1));
};

TEST_F(Safety, VotesForABlockExtendingTheQcOfThePreviousRound) {
  Expected<Vote, Refusal> v = rules.vote(b1);
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->round, Round{1});
  EXPECT_EQ(v->block, b1.id());
  EXPECT_TRUE(security::verify(f.registry(), Untrusted<Vote>(*v)).has_value());
  EXPECT_EQ(rules.data().last_voted_round, Round{1});
  ASSERT_TRUE(rules.vote(b2).has_value());
  EXPECT_EQ(rules.data().locked_round, Round{1});  // b2's QC certifies round 1
}

TEST_F(Safety, AReRequestGetsTheStoredVoteAndChangesNothing) {
  const Vote first = *rules.vote(b1);
  const SafetyData before = rules.data();
  Expected<Vote, Refusal> again = rules.vote(b1);
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(*again, first);
  EXPECT_EQ(rules.data(), before);
}

TEST_F(Safety, RuleOneASecondBlockInAVotedRoundIsRefused) {
  ASSERT_TRUE(rules.vote(b1).has_value());
  // An equivocating proposer's other block for round 1.
  const Block other = f.block(Round{1}, genesis_qc(Epoch{1}), {}, NodeId{3});
  ASSERT_NE(other.id(), b1.id());
  EXPECT_EQ(rules.vote(other).error(), Refusal::kRoundNotAfterLastVote);
}

TEST_F(Safety, RuleOneAnOlderRoundIsRefused) {
  ASSERT_TRUE(rules.vote(b2).has_value());
  EXPECT_EQ(rules.vote(b1).error(), Refusal::kRoundNotAfterLastVote);
}

TEST_F(Safety, RuleTwoASkippedRoundWithoutTimeoutCertificateIsRefused) {
  // Round 3 extending the round-1 QC: round 2 was skipped with no TC.
  const Block skipping = f.block(Round{3}, f.qc_for(b1));
  EXPECT_EQ(rules.vote(skipping).error(), Refusal::kNotJustified);
  // A TC, but for the wrong round, justifies nothing either.
  const Block wrong_tc =
      f.block(Round{4}, f.qc_for(b1), f.tc(Round{2}, {Round{1}, Round{1}, Round{1}}));
  EXPECT_EQ(rules.vote(wrong_tc).error(), Refusal::kNotJustified);
  EXPECT_EQ(rules.data().last_voted_round, Round{0});
}

TEST_F(Safety, RuleTwoAfterATimeoutTheQcMustBeAsHighAsTheTcReports) {
  // Round 2 timed out; one signer had a QC for round 1.
  const TimeoutCert tc = f.tc(Round{2}, {Round{0}, Round{1}, Round{0}});
  const Block stale = f.block(Round{3}, genesis_qc(Epoch{1}), tc);
  EXPECT_EQ(rules.vote(stale).error(), Refusal::kQcBelowTimeoutCert);
  const Block fresh = f.block(Round{3}, f.qc_for(b1), tc);
  EXPECT_TRUE(rules.vote(fresh).has_value());
}

TEST_F(Safety, BlocksOfAnotherEpochAreRefused) {
  Block other = b1;
  other.epoch = Epoch{2};
  EXPECT_EQ(rules.vote(other).error(), Refusal::kWrongEpoch);
}

TEST_F(Safety, TimeoutAfterTheHighQcIsSignedAndBlocksVotingInThatRound) {
  Expected<Timeout, Refusal> t = rules.timeout(Round{1}, genesis_qc(Epoch{1}), std::nullopt);
  ASSERT_TRUE(t.has_value());
  EXPECT_TRUE(security::verify(f.registry(), Untrusted<Timeout>(*t)).has_value());
  EXPECT_EQ(rules.data().last_voted_round, Round{1});
  // Having given up on round 1, it no longer votes there.
  EXPECT_EQ(rules.vote(b1).error(), Refusal::kRoundNotAfterLastVote);
  // Asked again for round 1 (even with a higher QC): the same timeout, never a conflicting one.
  Expected<Timeout, Refusal> again = rules.timeout(Round{1}, f.qc_for(b1), std::nullopt);
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(*again, *t);
}

TEST_F(Safety, TimeoutRoundMustFollowTheHighQcOrTheLastTc) {
  EXPECT_EQ(rules.timeout(Round{3}, genesis_qc(Epoch{1}), std::nullopt).error(),
            Refusal::kTimeoutRoundNotJustified);
  const TimeoutCert tc2 = f.tc(Round{2}, {Round{0}, Round{0}, Round{0}});
  EXPECT_TRUE(rules.timeout(Round{3}, genesis_qc(Epoch{1}), tc2).has_value());
}

TEST_F(Safety, TimeoutWithAHighQcBelowTheLockIsRefused) {
  ASSERT_TRUE(rules.vote(b1).has_value());
  ASSERT_TRUE(rules.vote(b2).has_value());  // lock: round 1
  const TimeoutCert tc2 = f.tc(Round{2}, {Round{0}, Round{0}, Round{0}});
  // Round 3 after the round-2 TC, but claiming only the genesis QC.
  EXPECT_EQ(rules.timeout(Round{3}, genesis_qc(Epoch{1}), tc2).error(), Refusal::kHighQcBelowLock);
  EXPECT_TRUE(rules.timeout(Round{3}, f.qc_for(b1), tc2).has_value());
}

TEST_F(Safety, TimeoutForARoundBeforeTheLastVoteIsRefused) {
  ASSERT_TRUE(rules.vote(b1).has_value());
  ASSERT_TRUE(rules.vote(b2).has_value());
  const TimeoutCert tc0 = f.tc(Round{0}, {Round{0}, Round{0}, Round{0}});
  EXPECT_EQ(rules.timeout(Round{1}, genesis_qc(Epoch{1}), tc0).error(), Refusal::kTimeoutRoundPast);
}

TEST_F(Safety, StateRoundTripsThroughItsEncoding) {
  ASSERT_TRUE(rules.vote(b1).has_value());
  ASSERT_TRUE(rules.timeout(Round{2}, f.qc_for(b1), std::nullopt).has_value());
  Result<SafetyData> back = codec::decode<SafetyData>(codec::encode(rules.data()));
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(*back, rules.data());
  // A restarted replica keeps its promises.
  SafetyRules restarted(NodeId{2}, testing::key_of(NodeId{2}), *back);
  EXPECT_EQ(restarted.vote(b2).error(), Refusal::kRoundNotAfterLastVote);
}

// What a damaged or forged bft_state could claim, each caught by
// consistent() (the replica refuses to start on it, BftReplicaTest).
TEST_F(Safety, DataThatTheRulesCannotProduceIsInconsistent) {
  ASSERT_TRUE(rules.vote(b1).has_value());
  ASSERT_TRUE(rules.vote(b2).has_value());
  ASSERT_TRUE(rules.timeout(Round{3}, f.qc_for(b2), std::nullopt).has_value());
  const SafetyData good = rules.data();
  EXPECT_TRUE(good.consistent());
  SafetyData lock_above_vote = good;
  lock_above_vote.locked_round = Round{4};
  EXPECT_FALSE(lock_above_vote.consistent());
  SafetyData lock_without_its_qc = good;
  lock_without_its_qc.lock_qc.reset();
  EXPECT_FALSE(lock_without_its_qc.consistent());
  SafetyData vote_ahead = good;
  vote_ahead.last_voted_round = Round{1};  // below the vote in round 2 and the timeout in 3
  EXPECT_FALSE(vote_ahead.consistent());
  SafetyData other_epoch = good;
  other_epoch.epoch = Epoch{2};  // the vote and timeout are of epoch 1
  EXPECT_FALSE(other_epoch.consistent());
}

}  // namespace
}  // namespace phalanx::bft
