// BLAKE2b-256.
//
//   Hash32 h = blake2b256(bytes);
//   Hasher hs; hs.update(a); hs.update(b); Hash32 h2 = hs.finish();  // = H(a‖b)
#pragma once

#include <sodium.h>

#include "core/bytes.h"

namespace phalanx::crypto {

using Hash32 = FixedBytes<32>;

[[nodiscard]] Hash32 blake2b256(ByteView data);

class Hasher {
 public:
  Hasher();
  Hasher& update(ByteView data);
  Hasher& update(std::uint8_t byte) { return update(ByteView(&byte, 1)); }
  // The hasher must not be used after finish().
  [[nodiscard]] Hash32 finish();

 private:
  crypto_generichash_state state_;
  bool finished_ = false;
};

}  // namespace phalanx::crypto
