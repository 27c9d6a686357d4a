#include "crypto/hash.h"

#include "core/assert.h"
#include "crypto/sodium.h"

namespace phalanx::crypto {

Hash32 blake2b256(ByteView data) {
  ensure_sodium();
  Hash32 out;
  const int rc = crypto_generichash(out.data(), out.size(), data.data(), data.size(), nullptr, 0);
  PHALANX_ASSERT(rc == 0);
  return out;
}

Hasher::Hasher() {
  ensure_sodium();
  const int rc = crypto_generichash_init(&state_, nullptr, 0, Hash32::size());
  PHALANX_ASSERT(rc == 0);
}

Hasher& Hasher::update(ByteView data) {
  PHALANX_ASSERT(!finished_);
  const int rc = crypto_generichash_update(&state_, data.data(), data.size());
  PHALANX_ASSERT(rc == 0);
  return *this;
}

Hash32 Hasher::finish() {
  PHALANX_ASSERT(!finished_);
  finished_ = true;
  Hash32 out;
  const int rc = crypto_generichash_final(&state_, out.data(), out.size());
  PHALANX_ASSERT(rc == 0);
  return out;
}

}  // namespace phalanx::crypto
