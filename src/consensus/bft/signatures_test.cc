// Checking a message's signatures ahead of the core: every signature the core
// would check is checked, failures are counted, and with a memo the same
// checks again cost no Ed25519 verification. Checks on another thread are
// tested with the node's worker pool (node/verify_pool_test.cc).
#include "consensus/bft/signatures.h"

#include <gtest/gtest.h>

#include "testing/bft_fixture.h"

namespace phalanx::bft {
namespace {

using testing::key_of;

class Signatures : public ::testing::Test {
 protected:
  Signatures() { fixture_.add_client(ClientId{1}); }

  static consensus::ClientRequest request(std::uint64_t sequence) {
    return testing::signed_request(ClientId{1}, sequence);
  }

  // Round 2 over a certified round-1 block, with two requests and one
  // accusation: 1 + 3 (QC) + 2 + 2 signatures.
  Block full_block() const {
    const Block b1 = fixture_.block(Round{1}, genesis_qc(fixture_.epoch()));
    Block b{.epoch = fixture_.epoch(),
            .round = Round{2},
            .qc = fixture_.qc_for(b1),
            .requests = {request(1), request(2)},
            .proposer = NodeId{2}};
    const auto [x, y] = fixture_.double_vote(Round{1}, NodeId{4});
    b.accusations.push_back(*accuse(statement(x), statement(y)));
    security::sign(b, key_of(NodeId{2}));
    return b;
  }

  testing::Fixture fixture_{4};
};

TEST_F(Signatures, AValidBlockPassesAndEverySignatureItCarriesIsChecked) {
  crypto::VerifyMemo memo;
  const crypto::ScopedVerifyMemo scope(memo);
  const Block b = full_block();
  EXPECT_EQ(check_signatures(b, fixture_.validators()), 0u);
  EXPECT_EQ(memo.checks(), 8u);
  EXPECT_EQ(check_signatures(b, fixture_.validators()), 0u);  // the second time: all remembered
  EXPECT_EQ(memo.checks(), 8u);
  EXPECT_EQ(memo.hits(), 8u);
}

TEST_F(Signatures, EachForgeryIsCounted) {
  const Validators& v = fixture_.validators();
  Block forged_request = full_block();
  forged_request.requests[1].operation = to_bytes("tampered");  // the block is re-signed:
  security::sign(forged_request, key_of(NodeId{2}));            // only the request is bad
  EXPECT_EQ(check_signatures(forged_request, v), 1u);

  Block forged_block = full_block();
  forged_block.signature[0] ^= 1;
  EXPECT_EQ(check_signatures(forged_block, v), 1u);

  Block short_qc = full_block();
  short_qc.qc.signers.pop_back();  // 2 of the 3 votes needed
  security::sign(short_qc, key_of(NodeId{2}));
  EXPECT_EQ(check_signatures(short_qc, v), 1u);

  Vote vote{fixture_.epoch(), Round{3}, BlockId{}, NodeId{3}};
  security::sign(vote, key_of(NodeId{3}));
  EXPECT_EQ(check_signatures(vote, v), 0u);
  vote.round = Round{4};  // signed for round 3
  EXPECT_EQ(check_signatures(vote, v), 1u);

  Timeout t{fixture_.epoch(), Round{3}, fixture_.qc(Round{1}, BlockId{}, 2), NodeId{3}};
  security::sign(t, key_of(NodeId{3}));
  EXPECT_EQ(check_signatures(t, v), 1u);  // its high QC is short
  t.last_tc = fixture_.tc(Round{2}, {Round{0}, Round{0}, Round{0}});
  EXPECT_EQ(check_signatures(t, v), 1u);  // the TC is good

  EXPECT_EQ(check_signatures(SyncRequest{}, v), 0u);  // unsigned
}

}  // namespace
}  // namespace phalanx::bft
