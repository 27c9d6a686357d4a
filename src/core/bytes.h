// Byte buffers.
//
//   Bytes        owned, growable (std::vector<uint8_t>)
//   ByteView     borrowed, read-only (std::span<const uint8_t>)
//   FixedBytes<N> owned, exactly N bytes: hashes, keys, signatures
//
//   Bytes b = to_bytes("hello");
//   std::string h = to_hex(b);              // "68656c6c6f"
//   std::optional<Bytes> back = from_hex(h);
#pragma once

#include <algorithm>
#include <array>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace phalanx {

using Bytes = std::vector<std::uint8_t>;
using ByteView = std::span<const std::uint8_t>;

template <std::size_t N>
class FixedBytes {
 public:
  static constexpr std::size_t kSize = N;

  constexpr FixedBytes() : data_{} {}
  constexpr explicit FixedBytes(const std::array<std::uint8_t, N>& data) : data_(data) {}

  // Returns nullopt unless view.size() == N.
  [[nodiscard]] static std::optional<FixedBytes> from(ByteView view) {
    if (view.size() != N) return std::nullopt;
    FixedBytes out;
    std::copy(view.begin(), view.end(), out.data_.begin());
    return out;
  }

  [[nodiscard]] std::uint8_t* data() { return data_.data(); }
  [[nodiscard]] const std::uint8_t* data() const { return data_.data(); }
  [[nodiscard]] static constexpr std::size_t size() { return N; }
  [[nodiscard]] ByteView view() const { return ByteView(data_); }
  [[nodiscard]] std::uint8_t& operator[](std::size_t i) { return data_[i]; }
  [[nodiscard]] std::uint8_t operator[](std::size_t i) const { return data_[i]; }

  auto operator<=>(const FixedBytes&) const = default;

 private:
  std::array<std::uint8_t, N> data_;
};

[[nodiscard]] inline Bytes to_bytes(std::string_view s) { return Bytes(s.begin(), s.end()); }

[[nodiscard]] inline ByteView as_view(std::string_view s) {
  return ByteView(reinterpret_cast<const std::uint8_t*>(s.data()), s.size());
}

// Lower-case hexadecimal.
[[nodiscard]] std::string to_hex(ByteView bytes);

// Accepts upper or lower case; nullopt on odd length or a non-hex digit.
[[nodiscard]] std::optional<Bytes> from_hex(std::string_view hex);

}  // namespace phalanx
