#include "core/codec.h"

#include <gtest/gtest.h>

namespace phalanx::codec {
namespace {

MalformedReason reason_of(const Error& e) {
  const SecurityError* s = e.security();
  EXPECT_NE(s, nullptr) << e.to_string();
  return std::get<MalformedInput>(*s).reason;
}

std::size_t offset_of(const Error& e) { return std::get<MalformedInput>(*e.security()).offset; }

Bytes varint_bytes(std::uint64_t v) {
  Writer w;
  w.varint(v);
  return w.take();
}

TEST(Varint, KnownEncodings) {
  EXPECT_EQ(varint_bytes(0), (Bytes{0x00}));
  EXPECT_EQ(varint_bytes(127), (Bytes{0x7f}));
  EXPECT_EQ(varint_bytes(128), (Bytes{0x80, 0x01}));
  EXPECT_EQ(varint_bytes(300), (Bytes{0xac, 0x02}));
  EXPECT_EQ(varint_bytes(UINT64_MAX),
            (Bytes{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}));
}

TEST(Varint, RejectsOverlongForms) {
  for (const Bytes& b : {Bytes{0x80, 0x00}, Bytes{0xff, 0x00}, Bytes{0x81, 0x80, 0x00}}) {
    Reader r(b);
    Result<std::uint64_t> v = r.varint();
    ASSERT_FALSE(v) << to_hex(b);
    EXPECT_EQ(reason_of(v.error()), MalformedReason::kOverlongVarint);
  }
}

TEST(Varint, RejectsValuesBeyond64Bits) {
  Bytes b(9, 0xff);
  b.push_back(0x02);  // tenth byte may only be 0x01
  Reader r(b);
  Result<std::uint64_t> v = r.varint();
  ASSERT_FALSE(v);
  EXPECT_EQ(reason_of(v.error()), MalformedReason::kVarintOverflow);

  Bytes eleven(10, 0xff);
  eleven.push_back(0x01);
  Reader r2(eleven);
  ASSERT_FALSE(r2.varint());
}

TEST(Varint, RejectsTruncation) {
  const Bytes b{0x80, 0x80};
  Reader r(b);
  Result<std::uint64_t> v = r.varint();
  ASSERT_FALSE(v);
  EXPECT_EQ(reason_of(v.error()), MalformedReason::kTruncated);
  EXPECT_EQ(offset_of(v.error()), 2u);
}

TEST(Varint, MaxIsEnforced) {
  const Bytes b = varint_bytes(1000);
  Reader r(b);
  Result<std::uint64_t> v = r.varint_max(999);
  ASSERT_FALSE(v);
  EXPECT_EQ(reason_of(v.error()), MalformedReason::kValueOutOfRange);
}

TEST(Fixed, LittleEndian) {
  Writer w;
  w.u16(0x0102);
  w.u32(0x03040506);
  w.u64(0x0708090a0b0c0d0eULL);
  w.i64(-2);
  EXPECT_EQ(to_hex(w.buffer()),
            "0201"
            "06050403"
            "0e0d0c0b0a090807"
            "feffffffffffffff");
  Reader r(w.buffer());
  EXPECT_EQ(*r.u16(), 0x0102);
  EXPECT_EQ(*r.u32(), 0x03040506u);
  EXPECT_EQ(*r.u64(), 0x0708090a0b0c0d0eULL);
  EXPECT_EQ(*r.i64(), -2);
  EXPECT_TRUE(r.finish());
}

TEST(Fixed, TruncatedReportsOffset) {
  const Bytes b{1, 2, 3};
  Reader r(b);
  ASSERT_TRUE(r.u8());
  Result<std::uint32_t> v = r.u32();
  ASSERT_FALSE(v);
  EXPECT_EQ(reason_of(v.error()), MalformedReason::kTruncated);
  EXPECT_EQ(offset_of(v.error()), 1u);
}

TEST(Bool, OnlyZeroOrOne) {
  const Bytes b{0x02};
  Reader r(b);
  Result<bool> v = r.boolean();
  ASSERT_FALSE(v);
  EXPECT_EQ(reason_of(v.error()), MalformedReason::kBadBool);
}

enum class Color : std::uint8_t { kRed = 0, kGreen = 1 };

TEST(Tag, UndefinedTagRejected) {
  const Bytes b{0x02};
  Reader r(b);
  Result<Color> v = r.tag<Color>(1);
  ASSERT_FALSE(v);
  EXPECT_EQ(reason_of(v.error()), MalformedReason::kBadTag);
}

TEST(Bytes, LengthOverLimitRejectedBeforeReading) {
  // Claims 2^40 bytes; must fail on the limit, not try to allocate.
  Writer w;
  w.varint(1ULL << 40);
  Reader r(w.buffer());
  Result<Bytes> v = r.bytes(1024);
  ASSERT_FALSE(v);
  EXPECT_EQ(reason_of(v.error()), MalformedReason::kLengthOverLimit);
}

TEST(Bytes, LengthWithinLimitButPastEndIsTruncated) {
  Writer w;
  w.varint(10);
  w.raw(Bytes{1, 2, 3});
  Reader r(w.buffer());
  Result<Bytes> v = r.bytes(1024);
  ASSERT_FALSE(v);
  EXPECT_EQ(reason_of(v.error()), MalformedReason::kTruncated);
}

TEST(String, RejectsInvalidUtf8) {
  const std::vector<Bytes> bad = {
      {0xc0, 0x80},              // overlong NUL
      {0xe0, 0x80, 0x80},        // overlong
      {0xed, 0xa0, 0x80},        // surrogate U+D800
      {0xf4, 0x90, 0x80, 0x80},  // U+110000
      {0x80},                    // lone continuation
      {0xe2, 0x82},              // truncated sequence
      {0xff},
  };
  for (const Bytes& content : bad) {
    Writer w;
    w.bytes(content, 16);
    Reader r(w.buffer());
    Result<std::string> v = r.string(16);
    ASSERT_FALSE(v) << to_hex(content);
    EXPECT_EQ(reason_of(v.error()), MalformedReason::kInvalidUtf8);
  }
}

TEST(String, AcceptsValidUtf8) {
  const std::string s = "phalanx \xce\xbb \xe2\x82\xac \xf0\x9f\x94\x92";
  Writer w;
  w.string(s, 64);
  Reader r(w.buffer());
  EXPECT_EQ(*r.string(64), s);
}

TEST(Optional, PresenceByteMustBeZeroOrOne) {
  const Bytes b{0x02, 0x00};
  Reader r(b);
  auto v = r.optional<std::uint64_t>([](Reader& in) { return in.varint(); });
  ASSERT_FALSE(v);
  EXPECT_EQ(reason_of(v.error()), MalformedReason::kBadTag);
}

TEST(Sequence, CountOverLimitRejected) {
  Writer w;
  w.varint(5);
  for (int i = 0; i < 5; ++i) w.varint(i);
  Reader r(w.buffer());
  auto v = r.sequence<std::uint64_t>(4, [](Reader& in) { return in.varint(); });
  ASSERT_FALSE(v);
  EXPECT_EQ(reason_of(v.error()), MalformedReason::kLengthOverLimit);
}

TEST(Sequence, HugeCountDoesNotAllocate) {
  Writer w;
  w.varint(1'000'000'000);  // within the limit, but no elements follow
  Reader r(w.buffer());
  auto v = r.sequence<std::uint64_t>(SIZE_MAX, [](Reader& in) { return in.varint(); });
  ASSERT_FALSE(v);
  EXPECT_EQ(reason_of(v.error()), MalformedReason::kTruncated);
}

struct Pair {
  std::uint64_t a = 0;
  std::uint64_t b = 0;
  void encode(Writer& w) const {
    w.varint(a);
    w.varint(b);
  }
  static Result<Pair> decode(Reader& r) {
    Pair p;
    PHALANX_ASSIGN_OR_RETURN(p.a, r.varint());
    PHALANX_ASSIGN_OR_RETURN(p.b, r.varint());
    return p;
  }
};

TEST(Message, TrailingBytesRejected) {
  Bytes b = encode(Pair{1, 2});
  EXPECT_TRUE(decode<Pair>(b));
  b.push_back(0);
  Result<Pair> v = decode<Pair>(b);
  ASSERT_FALSE(v);
  EXPECT_EQ(reason_of(v.error()), MalformedReason::kTrailingBytes);
  EXPECT_EQ(offset_of(v.error()), 2u);
}

TEST(Message, EmptyInputIsTruncated) {
  Result<Pair> v = decode<Pair>(Bytes{});
  ASSERT_FALSE(v);
  EXPECT_EQ(reason_of(v.error()), MalformedReason::kTruncated);
}

}  // namespace
}  // namespace phalanx::codec
