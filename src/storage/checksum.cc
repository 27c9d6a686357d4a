#include "storage/checksum.h"

#include <xxhash.h>

namespace phalanx::storage {

std::uint64_t checksum64(ByteView data) { return XXH3_64bits(data.data(), data.size()); }

void put_le(std::uint8_t* out, std::uint64_t value, int width) {
  for (int i = 0; i < width; ++i) out[i] = static_cast<std::uint8_t>(value >> (8 * i));
}

std::uint64_t get_le(const std::uint8_t* in, int width) {
  std::uint64_t v = 0;
  for (int i = 0; i < width; ++i) v |= static_cast<std::uint64_t>(in[i]) << (8 * i);
  return v;
}

}  // namespace phalanx::storage
