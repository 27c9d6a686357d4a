// Record checksums: XXH3-64 (libxxhash). Detects torn and flipped bytes;
// not a defence against tampering (the BLAKE2b hash chain is).
#pragma once

#include <cstdint>

#include "core/bytes.h"

namespace phalanx::storage {

[[nodiscard]] std::uint64_t checksum64(ByteView data);

// Little-endian helpers for fixed on-disk layouts.
void put_le(std::uint8_t* out, std::uint64_t value, int width);
[[nodiscard]] std::uint64_t get_le(const std::uint8_t* in, int width);

}  // namespace phalanx::storage
