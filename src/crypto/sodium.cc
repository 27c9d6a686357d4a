#include "crypto/sodium.h"

#include <sodium.h>

#include "core/assert.h"

namespace phalanx::crypto {

void ensure_sodium() {
  static const int result = sodium_init();  // 0 first time, 1 if already done
  PHALANX_ASSERT(result >= 0);
}

}  // namespace phalanx::crypto
