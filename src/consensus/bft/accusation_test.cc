// Accusations: two signed statements of one replica for one round that
// conflict. What a genuine proof gets, and what each kind of false one gets.
#include <gtest/gtest.h>

#include "consensus/bft/types.h"
#include "testing/bft_fixture.h"

namespace phalanx::bft {
namespace {

using testing::Fixture;
using testing::key_of;

template <class Case, class T>
bool refused_as(const Result<T>& r) {
  return !r && r.error().security() != nullptr &&
         std::holds_alternative<Case>(*r.error().security());
}

Vote vote(const Fixture& f, NodeId voter, std::uint8_t block) {
  Vote v{f.epoch(), Round{4}, BlockId{}, voter};
  v.block[0] = block;
  security::sign(v, key_of(voter));
  return v;
}

TEST(BftAccusation, TwoProposalsForOneRoundProveEquivocation) {
  Fixture f(4);
  const Block a = f.block(Round{1}, genesis_qc(f.epoch()), {}, NodeId{2});
  const Block b = f.block(Round{1}, genesis_qc(f.epoch()), f.tc(Round{0}, {Round{0}, Round{0}, Round{0}}), NodeId{2});
  const std::optional<Accusation> acc = accuse(statement(a), statement(b));
  ASSERT_TRUE(acc.has_value());
  EXPECT_EQ(acc->accused(), NodeId{2});
  // The same pair in either order makes the same proof.
  EXPECT_EQ(accuse(statement(b), statement(a)), acc);
  Result<Equivocation> proved = verify_accusation(*acc, f.validators());
  ASSERT_TRUE(proved.has_value()) << proved.error().to_string();
  EXPECT_EQ(proved->author, Principal::replica(NodeId{2}));
  EXPECT_EQ(proved->round, Round{1});
  // Far smaller than the blocks it is about.
  EXPECT_LT(codec::encode(*acc).size(), 300u);
  EXPECT_EQ(*codec::decode<Accusation>(codec::encode(*acc)), *acc);
}

TEST(BftAccusation, DoubleVoteAndConflictingTimeoutsProveEquivocation) {
  Fixture f(4);
  const std::optional<Accusation> votes =
      accuse(statement(vote(f, NodeId{3}, 1)), statement(vote(f, NodeId{3}, 2)));
  ASSERT_TRUE(votes.has_value());
  EXPECT_TRUE(verify_accusation(*votes, f.validators()).has_value());

  Timeout t1{f.epoch(), Round{5}, f.qc(Round{3}, BlockId{}, 3), NodeId{4}};
  Timeout t2{f.epoch(), Round{5}, f.qc(Round{4}, BlockId{}, 3), NodeId{4}};
  security::sign(t1, key_of(NodeId{4}));
  security::sign(t2, key_of(NodeId{4}));
  const std::optional<Accusation> timeouts = accuse(statement(t1), statement(t2));
  ASSERT_TRUE(timeouts.has_value());
  EXPECT_TRUE(verify_accusation(*timeouts, f.validators()).has_value());
}

TEST(BftAccusation, StatementsThatDoNotConflictAccuseNoOne) {
  Fixture f(4);
  const Vote v = vote(f, NodeId{3}, 1);
  EXPECT_FALSE(accuse(statement(v), statement(v)).has_value());  // the same vote twice
  EXPECT_FALSE(accuse(statement(v), statement(vote(f, NodeId{2}, 2))).has_value());  // two voters
  Vote later = vote(f, NodeId{3}, 2);
  later.round = Round{5};
  security::sign(later, key_of(NodeId{3}));
  EXPECT_FALSE(accuse(statement(v), statement(later)).has_value());  // two rounds
}

TEST(BftAccusation, FalseAccusationsAreRefusedWithTheirReason) {
  Fixture f(4);
  const Accusation genuine =
      *accuse(statement(vote(f, NodeId{3}, 1)), statement(vote(f, NodeId{3}, 2)));

  // Framing an honest replica: its real vote paired with one forged in its name.
  Accusation framed = genuine;
  framed.second.signature = vote(f, NodeId{1}, 2).signature;  // signed by someone else
  EXPECT_TRUE(refused_as<SignatureInvalid>(verify_accusation(framed, f.validators())));

  // The same proof in the other order is not a second proof.
  const Accusation swapped{genuine.second, genuine.first};
  EXPECT_TRUE(refused_as<MalformedInput>(verify_accusation(swapped, f.validators())));

  // One statement twice.
  const Accusation twice{genuine.first, genuine.first};
  EXPECT_TRUE(refused_as<MalformedInput>(verify_accusation(twice, f.validators())));

  // Statements of two authors.
  Accusation two_authors = genuine;
  two_authors.second = statement(vote(f, NodeId{2}, 2));
  EXPECT_TRUE(refused_as<MalformedInput>(verify_accusation(two_authors, f.validators())));

  // Another epoch.
  Fixture other(4);
  Validators next = other.validators();
  next.epoch = Epoch{2};
  EXPECT_TRUE(refused_as<MalformedInput>(verify_accusation(genuine, next)));

  // An author that is not a replica.
  Accusation stranger = genuine;
  stranger.first.author = stranger.second.author = NodeId{9};
  EXPECT_TRUE(refused_as<AuthenticationFailed>(verify_accusation(stranger, f.validators())));
}

TEST(BftAccusation, ABadKindTagDoesNotDecode) {
  Fixture f(4);
  Bytes bytes = codec::encode(
      *accuse(statement(vote(f, NodeId{3}, 1)), statement(vote(f, NodeId{3}, 2))));
  bytes[0] = 7;
  EXPECT_TRUE(refused_as<MalformedInput>(codec::decode<Accusation>(bytes)));
}

}  // namespace
}  // namespace phalanx::bft
