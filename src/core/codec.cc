#include "core/codec.h"

namespace phalanx::codec {

bool is_valid_utf8(std::string_view s) {
  const auto* p = reinterpret_cast<const std::uint8_t*>(s.data());
  const std::size_t n = s.size();
  std::size_t i = 0;
  while (i < n) {
    const std::uint8_t b = p[i];
    if (b < 0x80) {
      ++i;
      continue;
    }
    std::size_t len;
    std::uint32_t cp;
    std::uint32_t min;
    if ((b & 0xe0) == 0xc0) {
      len = 2, cp = b & 0x1f, min = 0x80;
    } else if ((b & 0xf0) == 0xe0) {
      len = 3, cp = b & 0x0f, min = 0x800;
    } else if ((b & 0xf8) == 0xf0) {
      len = 4, cp = b & 0x07, min = 0x10000;
    } else {
      return false;  // continuation byte or 0xf8.. as a lead byte
    }
    if (n - i < len) return false;
    for (std::size_t k = 1; k < len; ++k) {
      if ((p[i + k] & 0xc0) != 0x80) return false;
      cp = cp << 6 | (p[i + k] & 0x3f);
    }
    if (cp < min) return false;                      // overlong
    if (cp > 0x10ffff) return false;                 // beyond Unicode
    if (cp >= 0xd800 && cp <= 0xdfff) return false;  // surrogate
    i += len;
  }
  return true;
}

void Writer::fixed_le(std::uint64_t v, int width) {
  for (int i = 0; i < width; ++i) {
    out_.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
  }
}

void Writer::varint(std::uint64_t v) {
  while (v >= 0x80) {
    out_.push_back(static_cast<std::uint8_t>(v | 0x80));
    v >>= 7;
  }
  out_.push_back(static_cast<std::uint8_t>(v));
}

void Writer::bytes(ByteView v, std::size_t max) {
  PHALANX_ASSERT(v.size() <= max);
  varint(v.size());
  raw(v);
}

void Writer::string(std::string_view v, std::size_t max) {
  PHALANX_ASSERT(is_valid_utf8(v));
  bytes(as_view(v), max);
}

Result<std::uint64_t> Reader::fixed_le(int width) {
  if (remaining() < static_cast<std::size_t>(width)) {
    return malformed(MalformedReason::kTruncated, offset_);
  }
  std::uint64_t v = 0;
  for (int i = 0; i < width; ++i) {
    v |= static_cast<std::uint64_t>(input_[offset_ + i]) << (8 * i);
  }
  offset_ += width;
  return v;
}

Result<std::uint8_t> Reader::u8() {
  PHALANX_ASSIGN_OR_RETURN(std::uint64_t v, fixed_le(1));
  return static_cast<std::uint8_t>(v);
}
Result<std::uint16_t> Reader::u16() {
  PHALANX_ASSIGN_OR_RETURN(std::uint64_t v, fixed_le(2));
  return static_cast<std::uint16_t>(v);
}
Result<std::uint32_t> Reader::u32() {
  PHALANX_ASSIGN_OR_RETURN(std::uint64_t v, fixed_le(4));
  return static_cast<std::uint32_t>(v);
}
Result<std::uint64_t> Reader::u64() { return fixed_le(8); }
Result<std::int64_t> Reader::i64() {
  PHALANX_ASSIGN_OR_RETURN(std::uint64_t v, fixed_le(8));
  return static_cast<std::int64_t>(v);
}

Result<bool> Reader::boolean() {
  const std::size_t at = offset_;
  PHALANX_ASSIGN_OR_RETURN(std::uint8_t v, u8());
  if (v > 1) return malformed(MalformedReason::kBadBool, at);
  return v == 1;
}

Result<std::uint64_t> Reader::varint() {
  const std::size_t start = offset_;
  std::uint64_t value = 0;
  for (int i = 0; i < 10; ++i) {
    if (remaining() == 0) return malformed(MalformedReason::kTruncated, offset_);
    const std::uint8_t b = input_[offset_];
    if (i == 9 && b > 0x01) {
      return malformed(MalformedReason::kVarintOverflow, start);
    }
    value |= static_cast<std::uint64_t>(b & 0x7f) << (7 * i);
    ++offset_;
    if ((b & 0x80) == 0) {
      if (b == 0 && i > 0) {
        return malformed(MalformedReason::kOverlongVarint, start);
      }
      return value;
    }
  }
  // Unreachable: the tenth byte either ends the varint or fails above.
  PHALANX_ASSERT(false);
  return value;
}

Result<std::uint64_t> Reader::varint_max(std::uint64_t max) {
  const std::size_t at = offset_;
  PHALANX_ASSIGN_OR_RETURN(std::uint64_t v, varint());
  if (v > max) return malformed(MalformedReason::kValueOutOfRange, at);
  return v;
}

Result<std::size_t> Reader::length(std::size_t max) {
  const std::size_t at = offset_;
  PHALANX_ASSIGN_OR_RETURN(std::uint64_t v, varint());
  if (v > max) return malformed(MalformedReason::kLengthOverLimit, at);
  return static_cast<std::size_t>(v);
}

Result<ByteView> Reader::raw(std::size_t n) {
  if (remaining() < n) return malformed(MalformedReason::kTruncated, offset_);
  ByteView v = input_.subspan(offset_, n);
  offset_ += n;
  return v;
}

Result<Bytes> Reader::bytes(std::size_t max) {
  PHALANX_ASSIGN_OR_RETURN(std::size_t n, length(max));
  PHALANX_ASSIGN_OR_RETURN(ByteView v, raw(n));
  return Bytes(v.begin(), v.end());
}

Result<std::string> Reader::string(std::size_t max) {
  PHALANX_ASSIGN_OR_RETURN(std::size_t n, length(max));
  const std::size_t at = offset_;
  PHALANX_ASSIGN_OR_RETURN(ByteView v, raw(n));
  std::string s(v.begin(), v.end());
  if (!is_valid_utf8(s)) return malformed(MalformedReason::kInvalidUtf8, at);
  return s;
}

Status Reader::finish() const {
  if (remaining() != 0) {
    return malformed(MalformedReason::kTrailingBytes, offset_);
  }
  return {};
}

}  // namespace phalanx::codec
