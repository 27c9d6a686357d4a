// Canonicity of the codec: every value has exactly one encoding, and no
// byte string other than that encoding decodes.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include "core/codec.h"
#include "testing/mutate.h"

namespace phalanx::codec {
namespace {

enum class Kind : std::uint8_t { kA = 0, kB = 1, kC = 2 };

// Uses every primitive of the codec.
struct Sample {
  std::uint8_t a = 0;
  std::uint16_t b = 0;
  std::uint32_t c = 0;
  std::uint64_t d = 0;
  std::int64_t e = 0;
  bool f = false;
  std::uint64_t g = 0;  // varint
  Round round;
  Kind kind = Kind::kA;
  Bytes blob;
  std::string text;
  FixedBytes<8> fixed;
  std::optional<std::uint64_t> maybe;
  std::vector<std::string> list;

  void encode(Writer& w) const {
    w.u8(a);
    w.u16(b);
    w.u32(c);
    w.u64(d);
    w.i64(e);
    w.boolean(f);
    w.varint(g);
    w.id(round);
    w.tag(kind);
    w.bytes(blob, 64);
    w.string(text, 64);
    w.fixed(fixed);
    w.optional(maybe, [](Writer& o, std::uint64_t v) { o.varint(v); });
    w.sequence(std::span<const std::string>(list), 8,
               [](Writer& o, const std::string& s) { o.string(s, 16); });
  }

  static Result<Sample> decode(Reader& r) {
    Sample s;
    PHALANX_ASSIGN_OR_RETURN(s.a, r.u8());
    PHALANX_ASSIGN_OR_RETURN(s.b, r.u16());
    PHALANX_ASSIGN_OR_RETURN(s.c, r.u32());
    PHALANX_ASSIGN_OR_RETURN(s.d, r.u64());
    PHALANX_ASSIGN_OR_RETURN(s.e, r.i64());
    PHALANX_ASSIGN_OR_RETURN(s.f, r.boolean());
    PHALANX_ASSIGN_OR_RETURN(s.g, r.varint());
    PHALANX_ASSIGN_OR_RETURN(s.round, r.id<Round>());
    PHALANX_ASSIGN_OR_RETURN(s.kind, r.tag<Kind>(2));
    PHALANX_ASSIGN_OR_RETURN(s.blob, r.bytes(64));
    PHALANX_ASSIGN_OR_RETURN(s.text, r.string(64));
    PHALANX_ASSIGN_OR_RETURN(s.fixed, r.fixed<8>());
    PHALANX_ASSIGN_OR_RETURN(s.maybe,
                             r.optional<std::uint64_t>([](Reader& in) { return in.varint(); }));
    PHALANX_ASSIGN_OR_RETURN(s.list,
                             r.sequence<std::string>(8, [](Reader& in) { return in.string(16); }));
    return s;
  }

  bool operator==(const Sample&) const = default;
};

// A Unicode scalar value, UTF-8 encoded.
void append_utf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xc0 | cp >> 6);
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xe0 | cp >> 12);
    out += static_cast<char>(0x80 | (cp >> 6 & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else {
    out += static_cast<char>(0xf0 | cp >> 18);
    out += static_cast<char>(0x80 | (cp >> 12 & 0x3f));
    out += static_cast<char>(0x80 | (cp >> 6 & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  }
}

rc::Gen<std::string> gen_utf8(std::size_t max_bytes) {
  return rc::gen::map(
      rc::gen::container<std::vector<std::uint32_t>>(rc::gen::oneOf(
          rc::gen::inRange<std::uint32_t>(0, 0x80), rc::gen::inRange<std::uint32_t>(0x80, 0xd800),
          rc::gen::inRange<std::uint32_t>(0xe000, 0x110000))),
      [max_bytes](const std::vector<std::uint32_t>& cps) {
        std::string s;
        for (std::uint32_t cp : cps) {
          std::string one;
          append_utf8(one, cp);
          if (s.size() + one.size() > max_bytes) break;
          s += one;
        }
        return s;
      });
}

rc::Gen<Sample> gen_sample() {
  return rc::gen::exec([] {
    Sample s;
    s.a = *rc::gen::arbitrary<std::uint8_t>();
    s.b = *rc::gen::arbitrary<std::uint16_t>();
    s.c = *rc::gen::arbitrary<std::uint32_t>();
    s.d = *rc::gen::arbitrary<std::uint64_t>();
    s.e = *rc::gen::arbitrary<std::int64_t>();
    s.f = *rc::gen::arbitrary<bool>();
    s.g = *rc::gen::arbitrary<std::uint64_t>();
    s.round = Round{*rc::gen::arbitrary<std::uint64_t>()};
    s.kind = static_cast<Kind>(*rc::gen::inRange(0, 3));
    s.blob = *rc::gen::resize(64, rc::gen::container<Bytes>(rc::gen::arbitrary<std::uint8_t>()));
    if (s.blob.size() > 64) s.blob.resize(64);
    s.text = *gen_utf8(64);
    for (std::size_t i = 0; i < s.fixed.size(); ++i)
      s.fixed[i] = *rc::gen::arbitrary<std::uint8_t>();
    if (*rc::gen::arbitrary<bool>()) s.maybe = *rc::gen::arbitrary<std::uint64_t>();
    const int n = *rc::gen::inRange(0, 9);
    for (int i = 0; i < n; ++i) s.list.push_back(*gen_utf8(16));
    return s;
  });
}

RC_GTEST_PROP(Codec, DecodeOfEncodeIsIdentity, ()) {
  const Sample s = *gen_sample();
  Result<Sample> back = decode<Sample>(encode(s));
  RC_ASSERT(back.has_value());
  RC_ASSERT(*back == s);
}

RC_GTEST_PROP(Codec, MutatedBytesNeverDecodeToANonCanonicalForm, ()) {
  const Bytes original = encode(*gen_sample());
  const Bytes mutated = testing::mutate(original);
  Result<Sample> s = decode<Sample>(mutated);
  if (s) {
    // Whatever was accepted must be the one encoding of what it decoded to.
    RC_ASSERT(encode(*s) == mutated);
  } else {
    RC_ASSERT(std::holds_alternative<MalformedInput>(*s.error().security()));
  }
}

RC_GTEST_PROP(Codec, RandomBytesNeverDecodeToANonCanonicalForm,
              (const std::vector<std::uint8_t>& bytes)) {
  Result<Sample> s = decode<Sample>(bytes);
  if (s) RC_ASSERT(encode(*s) == bytes);
  // Varint-only messages accept far more random inputs; check them too.
  Reader r(bytes);
  std::vector<std::uint64_t> values;
  std::size_t consumed = 0;
  while (r.remaining() > 0) {
    Result<std::uint64_t> v = r.varint();
    if (!v) break;
    values.push_back(*v);
    consumed = r.offset();
  }
  Writer w;
  for (std::uint64_t v : values) w.varint(v);
  RC_ASSERT(w.buffer() ==
            Bytes(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(consumed)));
}

RC_GTEST_PROP(Codec, VarintIsShortest, (std::uint64_t v)) {
  Writer w;
  w.varint(v);
  std::size_t expected = 1;
  for (std::uint64_t x = v; x >= 0x80; x >>= 7) ++expected;
  RC_ASSERT(w.buffer().size() == expected);
  Reader r(w.buffer());
  RC_ASSERT(*r.varint() == v);
  RC_ASSERT(r.finish().has_value());
}

}  // namespace
}  // namespace phalanx::codec
