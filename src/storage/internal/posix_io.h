// POSIX helpers shared by the storage code that touches the real disk.
#pragma once

#include <unistd.h>

#include <string_view>

#include "core/bytes.h"
#include "core/error.h"

namespace phalanx::storage::internal {

// kNotFound for ENOENT, kNoSpace for ENOSPC/EDQUOT, kIo otherwise.
[[nodiscard]] Unexpected<Error> os_error(std::string_view what, std::string_view path, int err);

// Owns a file descriptor.
class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  Fd(Fd&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  Fd& operator=(Fd&& other) noexcept;
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd();

  [[nodiscard]] int get() const { return fd_; }
  [[nodiscard]] bool valid() const { return fd_ >= 0; }

 private:
  int fd_;
};

// pwrite until all of `data` is written (retrying EINTR and short writes).
[[nodiscard]] Status pwrite_all(int fd, std::uint64_t offset, ByteView data, std::string_view path);
[[nodiscard]] Status fsync_dir(std::string_view dir);

}  // namespace phalanx::storage::internal
