#include "crypto/hash.h"

#include <gtest/gtest.h>

namespace phalanx::crypto {
namespace {

// Reference values: BLAKE2b with a 32-byte digest, no key (RFC 7693).
TEST(Blake2b256, KnownVectors) {
  EXPECT_EQ(to_hex(blake2b256({}).view()),
            "0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8");
  EXPECT_EQ(to_hex(blake2b256(as_view("abc")).view()),
            "bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319");
}

TEST(Blake2b256, IncrementalEqualsOneShot) {
  const Bytes all = to_bytes("the quick brown fox jumps over the lazy dog");
  Hasher h;
  h.update(ByteView(all).first(10)).update(ByteView(all).subspan(10));
  EXPECT_EQ(h.finish(), blake2b256(all));
}

}  // namespace
}  // namespace phalanx::crypto
