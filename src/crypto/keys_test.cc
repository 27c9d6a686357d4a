#include "crypto/keys.h"

#include <gtest/gtest.h>

namespace phalanx::crypto {
namespace {

Seed seed_of(std::uint8_t fill) {
  Seed s;
  for (std::size_t i = 0; i < s.size(); ++i) s[i] = fill;
  return s;
}

TEST(Ed25519, SignVerify) {
  const KeyPair kp = KeyPair::generate();
  const Bytes msg = to_bytes("commit block 7");
  const Signature sig = kp.sign(SignDomain::kVote, msg);
  EXPECT_TRUE(verify(kp.public_key(), SignDomain::kVote, msg, sig));
  EXPECT_FALSE(verify(kp.public_key(), SignDomain::kVote, to_bytes("commit block 8"), sig));
}

TEST(Ed25519, OtherKeyFails) {
  const KeyPair a = KeyPair::generate();
  const KeyPair b = KeyPair::generate();
  const Bytes msg = to_bytes("m");
  EXPECT_FALSE(verify(b.public_key(), SignDomain::kVote, msg, a.sign(SignDomain::kVote, msg)));
}

TEST(Ed25519, DomainSeparation) {
  const KeyPair kp = KeyPair::from_seed(seed_of(1));
  const Bytes msg = to_bytes("round 5");
  const Signature vote = kp.sign(SignDomain::kVote, msg);
  EXPECT_FALSE(verify(kp.public_key(), SignDomain::kProposal, msg, vote));
  EXPECT_FALSE(verify(kp.public_key(), SignDomain::kClientRequest, msg, vote));
  EXPECT_FALSE(verify(kp.public_key(), SignDomain::kTimeout, msg, vote));
}

TEST(Ed25519, SeedIsDeterministic) {
  EXPECT_EQ(KeyPair::from_seed(seed_of(9)).public_key(),
            KeyPair::from_seed(seed_of(9)).public_key());
  EXPECT_NE(KeyPair::from_seed(seed_of(9)).public_key(),
            KeyPair::from_seed(seed_of(10)).public_key());
}

TEST(Ed25519, MovedKeyStillSigns) {
  KeyPair a = KeyPair::from_seed(seed_of(3));
  const PublicKey pk = a.public_key();
  KeyPair b = std::move(a);
  const Bytes msg = to_bytes("x");
  EXPECT_TRUE(verify(pk, SignDomain::kVote, msg, b.sign(SignDomain::kVote, msg)));
}

TEST(KeyText, SecretRoundTrip) {
  const KeyPair kp = KeyPair::from_seed(seed_of(4));
  const std::string text = kp.to_secret_text();
  EXPECT_TRUE(text.starts_with("phalanx-ed25519-secret-key-v1\n"));
  Result<KeyPair> back = KeyPair::from_secret_text(text);
  ASSERT_TRUE(back) << back.error().to_string();
  EXPECT_EQ(back->public_key(), kp.public_key());
}

TEST(KeyText, PublicRoundTrip) {
  const KeyPair kp = KeyPair::from_seed(seed_of(5));
  Result<PublicKey> back = public_key_from_text(public_key_text(kp.public_key()));
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, kp.public_key());
}

TEST(KeyText, RejectsMalformed) {
  const std::string good = KeyPair::from_seed(seed_of(6)).to_secret_text();
  for (const std::string& bad : {
           std::string(""), std::string("phalanx-ed25519-secret-key-v1\n"),
           std::string("wrong-header\n") + good.substr(good.find('\n') + 1),
           good.substr(0, good.size() - 3) + "\n",    // too short
           good.substr(0, good.size() - 2) + "zz\n",  // not hex
       }) {
    Result<KeyPair> kp = KeyPair::from_secret_text(bad);
    ASSERT_FALSE(kp) << bad;
    EXPECT_EQ(kp.error().code(), ErrorCode::kInvalidArgument);
  }
  // A public key file is not a secret key file, and the reverse.
  EXPECT_FALSE(KeyPair::from_secret_text(public_key_text(PublicKey{})));
  EXPECT_FALSE(public_key_from_text(good));
}

}  // namespace
}  // namespace phalanx::crypto
