#include "storage/internal/posix_io.h"

#include <fcntl.h>
#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace phalanx::storage::internal {

Unexpected<Error> os_error(std::string_view what, std::string_view path, int err) {
  ErrorCode code = ErrorCode::kIo;
  if (err == ENOENT) code = ErrorCode::kNotFound;
  if (err == ENOSPC || err == EDQUOT) code = ErrorCode::kNoSpace;
  return fail(code, fmt::format("{} {}: {}", what, path, std::strerror(err)));
}

Fd& Fd::operator=(Fd&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.fd_;
    other.fd_ = -1;
  }
  return *this;
}

Fd::~Fd() {
  if (fd_ >= 0) ::close(fd_);
}

Status pwrite_all(int fd, std::uint64_t offset, ByteView data, std::string_view path) {
  std::size_t done = 0;
  while (done < data.size()) {
    const ssize_t n =
        ::pwrite(fd, data.data() + done, data.size() - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return os_error("write", path, errno);
    done += static_cast<std::size_t>(n);
  }
  return {};
}

Status fsync_dir(std::string_view dir) {
  const std::string d(dir.empty() ? "." : dir);
  Fd fd(::open(d.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) return os_error("open directory", d, errno);
  if (::fsync(fd.get()) != 0) return os_error("fsync directory", d, errno);
  return {};
}

}  // namespace phalanx::storage::internal
