// Assertions that stay on in release builds.
//
// A failed PHALANX_ASSERT is a programmer error: the process stops with the
// file, line and the condition text. Split compound conditions so a failure
// names the part that broke:
//
//   PHALANX_ASSERT(index <= last_index);   // not (index <= last && term > 0)
//   PHALANX_ASSERT(term > Term{0});
//
// Input from the network, the disk or a user is never asserted on; it is
// checked and rejected with an Error (see error.h).
#pragma once

namespace phalanx::internal {

[[noreturn]] void assert_failed(const char* condition, const char* file, int line) noexcept;

}  // namespace phalanx::internal

#define PHALANX_ASSERT(condition)                                         \
  do {                                                                    \
    if (!(condition)) [[unlikely]] {                                      \
      ::phalanx::internal::assert_failed(#condition, __FILE__, __LINE__); \
    }                                                                     \
  } while (false)
