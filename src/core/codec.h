// Canonical binary codec (format: docs/codec.md).
//
// A message type M opts in with two members:
//
//   struct Ping {
//     NodeId from;
//     std::string note;
//     void encode(codec::Writer& w) const { w.id(from); w.string(note, 64); }
//     static Result<Ping> decode(codec::Reader& r) {
//       Ping p;
//       PHALANX_ASSIGN_OR_RETURN(p.from, r.id<NodeId>());
//       PHALANX_ASSIGN_OR_RETURN(p.note, r.string(64));
//       return p;
//     }
//   };
//   Bytes b = codec::encode(ping);
//   Result<Ping> back = codec::decode<Ping>(b);   // rejects trailing bytes
//
// Writer takes values the program built, so a violated limit there is a
// programmer error (assertion). Reader takes attacker-controlled bytes, so
// every violation is a MalformedInput error; it never throws, never reads
// out of bounds and never allocates more than the input could justify.
#pragma once

#include <algorithm>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/bytes.h"
#include "core/error.h"
#include "core/ids.h"

namespace phalanx::codec {

// True iff `s` is well-formed UTF-8 (RFC 3629).
[[nodiscard]] bool is_valid_utf8(std::string_view s);

class Writer {
 public:
  void u8(std::uint8_t v) { out_.push_back(v); }
  void u16(std::uint16_t v) { fixed_le(v, 2); }
  void u32(std::uint32_t v) { fixed_le(v, 4); }
  void u64(std::uint64_t v) { fixed_le(v, 8); }
  void i64(std::int64_t v) { fixed_le(static_cast<std::uint64_t>(v), 8); }
  void boolean(bool v) { out_.push_back(v ? 1 : 0); }
  void varint(std::uint64_t v);

  template <class Tag>
  void id(StrongId<Tag> v) {
    varint(v.value());
  }

  template <class E>
  requires std::is_enum_v<E>
  void tag(E v) { u8(static_cast<std::uint8_t>(v)); }

  // REQUIRES: v.size() <= max.
  void bytes(ByteView v, std::size_t max);
  // REQUIRES: v.size() <= max, v is valid UTF-8.
  void string(std::string_view v, std::size_t max);

  template <std::size_t N>
  void fixed(const FixedBytes<N>& v) {
    raw(v.view());
  }

  // Appends bytes with no length prefix (for nested, already-encoded data
  // whose length the format fixes).
  void raw(ByteView v) {
    // resize + copy, not insert: GCC 12 reports a false stringop-overflow for
    // insert into a vector it can prove empty (a known GCC 12 false positive).
    const std::size_t at = out_.size();
    out_.resize(at + v.size());
    std::copy(v.begin(), v.end(), out_.begin() + static_cast<std::ptrdiff_t>(at));
  }

  template <class T, class F>
  void optional(const std::optional<T>& v, F&& encode_one) {
    boolean(v.has_value());
    if (v) encode_one(*this, *v);
  }

  // REQUIRES: items.size() <= max.
  template <class T, class F>
  void sequence(std::span<const T> items, std::size_t max, F&& encode_one) {
    PHALANX_ASSERT(items.size() <= max);
    varint(items.size());
    for (const T& item : items) encode_one(*this, item);
  }

  [[nodiscard]] const Bytes& buffer() const { return out_; }
  [[nodiscard]] Bytes take() { return std::move(out_); }

 private:
  void fixed_le(std::uint64_t v, int width);
  Bytes out_;
};

class Reader {
 public:
  explicit Reader(ByteView input) : input_(input) {}

  [[nodiscard]] Result<std::uint8_t> u8();
  [[nodiscard]] Result<std::uint16_t> u16();
  [[nodiscard]] Result<std::uint32_t> u32();
  [[nodiscard]] Result<std::uint64_t> u64();
  [[nodiscard]] Result<std::int64_t> i64();
  [[nodiscard]] Result<bool> boolean();
  [[nodiscard]] Result<std::uint64_t> varint();
  // A varint that must not exceed `max` (kValueOutOfRange otherwise).
  [[nodiscard]] Result<std::uint64_t> varint_max(std::uint64_t max);

  // r.id<NodeId>()
  template <class Id>
  [[nodiscard]] Result<Id> id() {
    PHALANX_ASSIGN_OR_RETURN(std::uint64_t v, varint());
    return Id{v};
  }

  // An enum stored as one byte; tags above `max` are kBadTag.
  template <class E>
  requires std::is_enum_v<E>
  [[nodiscard]] Result<E> tag(std::uint8_t max) {
    const std::size_t at = offset_;
    PHALANX_ASSIGN_OR_RETURN(std::uint8_t v, u8());
    if (v > max) return malformed(MalformedReason::kBadTag, at);
    return static_cast<E>(v);
  }

  [[nodiscard]] Result<Bytes> bytes(std::size_t max);
  [[nodiscard]] Result<std::string> string(std::size_t max);
  // Borrowed view of the next `n` bytes.
  [[nodiscard]] Result<ByteView> raw(std::size_t n);

  template <std::size_t N>
  [[nodiscard]] Result<FixedBytes<N>> fixed() {
    PHALANX_ASSIGN_OR_RETURN(ByteView v, raw(N));
    return *FixedBytes<N>::from(v);
  }

  template <class T, class F>
  [[nodiscard]] Result<std::optional<T>> optional(F&& decode_one) {
    const std::size_t at = offset_;
    PHALANX_ASSIGN_OR_RETURN(std::uint8_t present, u8());
    if (present > 1) return malformed(MalformedReason::kBadTag, at);
    if (present == 0) return std::optional<T>{};
    PHALANX_ASSIGN_OR_RETURN(T value, decode_one(*this));
    return std::optional<T>(std::move(value));
  }

  // decode_one: Reader& -> Result<T>.
  template <class T, class F>
  [[nodiscard]] Result<std::vector<T>> sequence(std::size_t max, F&& decode_one) {
    PHALANX_ASSIGN_OR_RETURN(std::size_t count, length(max));
    std::vector<T> items;
    // Never trust the count for allocation: each element takes >= 0 bytes.
    items.reserve(std::min(count, remaining()));
    for (std::size_t i = 0; i < count; ++i) {
      PHALANX_ASSIGN_OR_RETURN(T item, decode_one(*this));
      items.push_back(std::move(item));
    }
    return items;
  }

  // Fails with kTrailingBytes unless all input was consumed.
  [[nodiscard]] Status finish() const;

  [[nodiscard]] std::size_t offset() const { return offset_; }
  [[nodiscard]] std::size_t remaining() const { return input_.size() - offset_; }

  [[nodiscard]] static Unexpected<Error> malformed(MalformedReason reason, std::size_t offset) {
    return fail(MalformedInput{reason, offset});
  }

 private:
  [[nodiscard]] Result<std::uint64_t> fixed_le(int width);
  [[nodiscard]] Result<std::size_t> length(std::size_t max);

  ByteView input_;
  std::size_t offset_ = 0;
};

template <class T>
concept Encodable = requires(const T& v, Writer& w) {
  { v.encode(w) } -> std::same_as<void>;
};

template <class T>
concept Decodable = requires(Reader& r) {
  { T::decode(r) } -> std::same_as<Result<T>>;
};

template <Encodable T>
[[nodiscard]] Bytes encode(const T& value) {
  Writer w;
  value.encode(w);
  return w.take();
}

// Decodes exactly one T from `input`; trailing bytes are an error.
template <Decodable T>
[[nodiscard]] Result<T> decode(ByteView input) {
  Reader r(input);
  PHALANX_ASSIGN_OR_RETURN(T value, T::decode(r));
  PHALANX_TRY(r.finish());
  return value;
}

}  // namespace phalanx::codec
