#include "storage/key_file.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "storage/internal/posix_io.h"

namespace phalanx::storage {
namespace {


using internal::Fd;
using internal::os_error;

Status write_new_file(const std::filesystem::path& path, std::string_view contents, mode_t mode) {
  std::filesystem::path tmp = path;
  tmp += ".tmp";
  ::unlink(tmp.c_str());  // a leftover from a crash mid-write
  {
    Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode));
    if (!fd.valid()) return os_error("create", tmp.string(), errno);
    if (Status s = internal::pwrite_all(fd.get(), 0, as_view(contents), tmp.string()); !s) {
      ::unlink(tmp.c_str());
      return s;
    }
    if (::fsync(fd.get()) != 0) {
      const int err = errno;
      ::unlink(tmp.c_str());
      return os_error("fsync", tmp.string(), err);
    }
  }
  if (::link(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    if (err == EEXIST) {
      return fail(ErrorCode::kInvalidArgument,
                  fmt::format("{} already exists; refusing to overwrite a key", path.string()));
    }
    return os_error("link", path.string(), err);
  }
  ::unlink(tmp.c_str());
  return internal::fsync_dir(path.parent_path().string());
}

// Reads a small regular file. With `secret`, refuses group/other access.
Result<std::string> read_key_text(const std::filesystem::path& path, bool secret,
                                  std::size_t bytes_max = kTextFileBytesDefault) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd.valid()) {
    if (errno == ELOOP) {
      return fail(
          ErrorCode::kInvalidArgument,
          fmt::format("{} is a symbolic link; key files must be regular files", path.string()));
    }
    return os_error("open", path.string(), errno);
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return os_error("stat", path.string(), errno);
  if (!S_ISREG(st.st_mode)) {
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("{} is not a regular file", path.string()));
  }
  if (secret && (st.st_mode & 077) != 0) {
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("{} is accessible by group or others (mode {:04o}); "
                            "run: chmod 600 {}",
                            path.string(), st.st_mode & 07777, path.string()));
  }
  if (static_cast<std::size_t>(st.st_size) > bytes_max) {
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("{} is {} bytes; at most {} are read from such a file", path.string(), st.st_size,
                            bytes_max));
  }
  std::string text(bytes_max + 1, '\0');
  std::size_t got = 0;
  while (got < text.size()) {
    const ssize_t n = ::read(fd.get(), text.data() + got, text.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return os_error("read", path.string(), errno);
    if (n == 0) break;
    got += static_cast<std::size_t>(n);
  }
  if (got > bytes_max) {
    return fail(ErrorCode::kInvalidArgument, fmt::format("{} grew past {} bytes while being read",
                                                         path.string(), bytes_max));
  }
  text.resize(got);
  return text;
}

}  // namespace

Status write_secret_key_file(const std::filesystem::path& path, const crypto::KeyPair& key) {
  std::string text = key.to_secret_text();
  Status s = write_new_file(path, text, 0600);
  sodium_memzero(text.data(), text.size());
  return s;
}

Status write_public_key_file(const std::filesystem::path& path, const crypto::PublicKey& key) {
  return write_new_file(path, crypto::public_key_text(key), 0644);
}

Result<crypto::KeyPair> read_secret_key_file(const std::filesystem::path& path) {
  PHALANX_ASSIGN_OR_RETURN(std::string text, read_key_text(path, true));
  Result<crypto::KeyPair> kp = crypto::KeyPair::from_secret_text(text);
  sodium_memzero(text.data(), text.size());
  if (!kp) return Unexpected(std::move(kp).error().with_context(path.string()));
  return kp;
}

Status write_secret_text_file(const std::filesystem::path& path, std::string_view text) {
  return write_new_file(path, text, 0600);
}

Status write_public_text_file(const std::filesystem::path& path, std::string_view text) {
  return write_new_file(path, text, 0644);
}

Result<std::string> read_secret_text_file(const std::filesystem::path& path) {
  return read_key_text(path, true);
}

Result<std::string> read_public_text_file(const std::filesystem::path& path,
                                          std::size_t bytes_max) {
  return read_key_text(path, false, bytes_max);
}

Result<crypto::PublicKey> read_public_key_file(const std::filesystem::path& path) {
  PHALANX_ASSIGN_OR_RETURN(std::string text, read_key_text(path, false));
  Result<crypto::PublicKey> key = crypto::public_key_from_text(text);
  if (!key) return Unexpected(std::move(key).error().with_context(path.string()));
  return key;
}

}  // namespace phalanx::storage
