#include "core/assert.h"

#include <cstdio>
#include <cstdlib>

namespace phalanx::internal {

void assert_failed(const char* condition, const char* file, int line) noexcept {
  std::fprintf(stderr, "phalanx: assertion failed: %s at %s:%d\n", condition, file, line);
  std::fflush(stderr);
  std::abort();
}

}  // namespace phalanx::internal
