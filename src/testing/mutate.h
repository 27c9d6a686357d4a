// Test helper for RapidCheck properties of byte formats.
#pragma once

#include <rapidcheck.h>

#include "core/bytes.h"

namespace phalanx::testing {

// Arbitrary edits of a byte string: flip, insert, delete, truncate, extend.
inline Bytes mutate(Bytes bytes) {
  const int edits = *rc::gen::inRange(1, 4);
  for (int i = 0; i < edits; ++i) {
    const int op = *rc::gen::inRange(0, 5);
    const std::size_t at = bytes.empty() ? 0 : *rc::gen::inRange<std::size_t>(0, bytes.size());
    switch (op) {
      case 0:
        if (!bytes.empty()) bytes[at] ^= static_cast<std::uint8_t>(1u << *rc::gen::inRange(0, 8));
        break;
      case 1:
        bytes.insert(bytes.begin() + static_cast<std::ptrdiff_t>(at),
                     *rc::gen::arbitrary<std::uint8_t>());
        break;
      case 2:
        if (!bytes.empty()) bytes.erase(bytes.begin() + static_cast<std::ptrdiff_t>(at));
        break;
      case 3: bytes.resize(at); break;
      case 4:
        if (!bytes.empty()) bytes[at] = *rc::gen::arbitrary<std::uint8_t>();
        break;
    }
  }
  return bytes;
}

}  // namespace phalanx::testing
