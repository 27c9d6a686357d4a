// Certificates are only as good as verify_qc/verify_tc: what each forged or
// short certificate gets. Blocks, votes and timeouts round-trip canonically.
#include "consensus/bft/types.h"

#include <gtest/gtest.h>

#include "testing/bft_fixture.h"

namespace phalanx::bft {
namespace {

using testing::Fixture;

template <class Case>
bool refused_as(const Status& s) {
  return !s && s.error().security() != nullptr &&
         std::holds_alternative<Case>(*s.error().security());
}

TEST(BftCertificates, QuorumOfValidSignaturesVerifies) {
  Fixture f(4);
  const Block b = f.block(Round{1}, genesis_qc(f.epoch()));
  EXPECT_TRUE(verify_qc(f.qc_for(b), f.validators()));
  EXPECT_TRUE(verify_qc(genesis_qc(f.epoch()), f.validators()));
}

TEST(BftCertificates, TooFewSignersIsQuorumNotReached) {
  Fixture f(4);
  const Block b = f.block(Round{1}, genesis_qc(f.epoch()));
  const Status s = verify_qc(f.qc(Round{1}, b.id(), 2), f.validators());
  ASSERT_TRUE(refused_as<QuorumNotReached>(s));
  EXPECT_EQ(std::get<QuorumNotReached>(*s.error().security()).needed, 3u);
}

TEST(BftCertificates, ForgedOrForeignSignaturesAreRefused) {
  Fixture f(4);
  const Block b = f.block(Round{1}, genesis_qc(f.epoch()));
  // A signature moved to another signer's slot: its key does not match.
  QuorumCert swapped = f.qc_for(b);
  std::swap(swapped.signers[0].signature, swapped.signers[1].signature);
  EXPECT_TRUE(refused_as<SignatureInvalid>(verify_qc(swapped, f.validators())));
  // A QC lifted onto another block.
  QuorumCert lifted = f.qc_for(b);
  lifted.block[0] ^= 1;
  EXPECT_TRUE(refused_as<SignatureInvalid>(verify_qc(lifted, f.validators())));
  // A signer the registry does not know.
  QuorumCert stranger = f.qc_for(b);
  stranger.signers.back().id = NodeId{9};
  EXPECT_TRUE(refused_as<AuthenticationFailed>(verify_qc(stranger, f.validators())));
  // A fake genesis certificate for some other block.
  QuorumCert fake_genesis = genesis_qc(f.epoch());
  fake_genesis.block = b.id();
  EXPECT_TRUE(refused_as<QuorumNotReached>(verify_qc(fake_genesis, f.validators())));
  // A certificate of another epoch.
  QuorumCert old = f.qc_for(b);
  old.epoch = Epoch{0};
  EXPECT_FALSE(verify_qc(old, f.validators()));
}

TEST(BftCertificates, RepeatedSignerCannotBeEncodedAsTwoVotes) {
  Fixture f(4);
  const Block b = f.block(Round{1}, genesis_qc(f.epoch()));
  QuorumCert padded = f.qc(Round{1}, b.id(), 2);
  padded.signers.push_back(padded.signers.back());  // signer 2 twice: "3 votes"
  Result<QuorumCert> decoded = codec::decode<QuorumCert>(codec::encode(padded));
  ASSERT_FALSE(decoded.has_value());
  const auto* m = std::get_if<MalformedInput>(decoded.error().security());
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->reason, MalformedReason::kNonCanonical);
}

TEST(BftCertificates, TimeoutCertificateVerifiesEachSignersHighQcRound) {
  Fixture f(4);
  TimeoutCert tc = f.tc(Round{3}, {Round{1}, Round{2}, Round{1}});
  EXPECT_TRUE(verify_tc(tc, f.validators()));
  EXPECT_EQ(tc.highest_qc_round(), Round{2});
  // Raising a signer's reported high QC round breaks its signature.
  tc.signers[0].high_qc_round = Round{2};
  EXPECT_TRUE(refused_as<SignatureInvalid>(verify_tc(tc, f.validators())));
  EXPECT_TRUE(refused_as<QuorumNotReached>(
      verify_tc(f.tc(Round{3}, {Round{1}, Round{1}}), f.validators())));
}

TEST(BftBlocks, IdCoversEveryFieldButTheSignature) {
  Fixture f(4);
  const Block b = f.block(Round{1}, genesis_qc(f.epoch()));
  Block c = b;
  c.signature[0] ^= 1;
  EXPECT_EQ(c.id(), b.id());
  c = b;
  c.round = Round{2};
  EXPECT_NE(c.id(), b.id());
  c = b;
  c.requests.push_back(consensus::ClientRequest{});
  EXPECT_NE(c.id(), b.id());
  EXPECT_EQ(b.parent(), genesis_qc(f.epoch()).block);
}

TEST(BftBlocks, MessagesRoundTripAndTamperingIsCaught) {
  Fixture f(4);
  const Block b1 = f.block(Round{1}, genesis_qc(f.epoch()));
  const Block b3 =
      f.block(Round{3}, f.qc_for(b1), f.tc(Round{2}, {Round{1}, Round{0}, Round{1}}), NodeId{3});
  const Bytes bytes = codec::encode(b3);
  Result<Block> back = codec::decode<Block>(bytes);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(*back, b3);
  EXPECT_TRUE(security::verify(f.registry(), Untrusted<Block>(*back)).has_value());
  // Another replica's id on the block: the signature no longer verifies.
  Block forged = b3;
  forged.proposer = NodeId{2};
  Result<Authenticated<Block>> verified = security::verify(f.registry(), Untrusted<Block>(forged));
  ASSERT_FALSE(verified.has_value());
  EXPECT_NE(std::get_if<SignatureInvalid>(verified.error().security()), nullptr);
  EXPECT_FALSE(codec::decode<Block>(ByteView(bytes).first(bytes.size() - 1)).has_value());
}

}  // namespace
}  // namespace phalanx::bft
