// Signature properties from the security model (seed 000, §8.1).
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include "crypto/keys.h"

namespace phalanx::crypto {
namespace {

KeyPair gen_key() {
  Seed seed;
  for (std::size_t i = 0; i < seed.size(); ++i) seed[i] = *rc::gen::arbitrary<std::uint8_t>();
  return KeyPair::from_seed(seed);
}

SignDomain gen_domain() {
  return static_cast<SignDomain>(*rc::gen::inRange<int>(0, kSignDomainMax + 1));
}

RC_GTEST_PROP(Signature, ValidSignatureVerifies, (const std::vector<std::uint8_t>& msg)) {
  const KeyPair kp = gen_key();
  const SignDomain d = gen_domain();
  RC_ASSERT(verify(kp.public_key(), d, msg, kp.sign(d, msg)));
}

RC_GTEST_PROP(Signature, FlippingAnyMessageBitFails, (const std::vector<std::uint8_t>& msg)) {
  RC_PRE(!msg.empty());
  const KeyPair kp = gen_key();
  const Signature sig = kp.sign(SignDomain::kVote, msg);
  Bytes flipped = msg;
  const std::size_t bit = *rc::gen::inRange<std::size_t>(0, msg.size() * 8);
  flipped[bit / 8] ^= static_cast<std::uint8_t>(1u << (bit % 8));
  RC_ASSERT(!verify(kp.public_key(), SignDomain::kVote, flipped, sig));
}

RC_GTEST_PROP(Signature, FlippingAnySignatureBitFails, (const std::vector<std::uint8_t>& msg)) {
  const KeyPair kp = gen_key();
  Signature sig = kp.sign(SignDomain::kProposal, msg);
  const std::size_t bit = *rc::gen::inRange<std::size_t>(0, Signature::size() * 8);
  sig[bit / 8] ^= static_cast<std::uint8_t>(1u << (bit % 8));
  RC_ASSERT(!verify(kp.public_key(), SignDomain::kProposal, msg, sig));
}

RC_GTEST_PROP(Signature, FlippingAnyKeyBitFails, (const std::vector<std::uint8_t>& msg)) {
  const KeyPair kp = gen_key();
  const Signature sig = kp.sign(SignDomain::kClientRequest, msg);
  PublicKey key = kp.public_key();
  const std::size_t bit = *rc::gen::inRange<std::size_t>(0, PublicKey::size() * 8);
  key[bit / 8] ^= static_cast<std::uint8_t>(1u << (bit % 8));
  RC_ASSERT(!verify(key, SignDomain::kClientRequest, msg, sig));
}

RC_GTEST_PROP(Signature, SignatureFailsUnderEveryOtherDomain,
              (const std::vector<std::uint8_t>& msg)) {
  const KeyPair kp = gen_key();
  const SignDomain d = gen_domain();
  const Signature sig = kp.sign(d, msg);
  for (int other = 0; other <= kSignDomainMax; ++other) {
    if (other == static_cast<int>(d)) continue;
    RC_ASSERT(!verify(kp.public_key(), static_cast<SignDomain>(other), msg, sig));
  }
}

}  // namespace
}  // namespace phalanx::crypto
