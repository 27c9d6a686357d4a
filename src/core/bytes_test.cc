#include "core/bytes.h"

#include <gtest/gtest.h>

namespace phalanx {
namespace {

TEST(Hex, RoundTrip) {
  const Bytes b{0x00, 0x01, 0xab, 0xff};
  EXPECT_EQ(to_hex(b), "0001abff");
  EXPECT_EQ(*from_hex("0001abff"), b);
  EXPECT_EQ(*from_hex("0001ABFF"), b);
}

TEST(Hex, RejectsOddLengthAndNonHex) {
  EXPECT_FALSE(from_hex("abc"));
  EXPECT_FALSE(from_hex("zz"));
  EXPECT_FALSE(from_hex("0g"));
}

TEST(FixedBytes, FromChecksSize) {
  EXPECT_FALSE(FixedBytes<4>::from(Bytes{1, 2, 3}));
  EXPECT_TRUE(FixedBytes<4>::from(Bytes{1, 2, 3, 4}));
}

}  // namespace
}  // namespace phalanx
