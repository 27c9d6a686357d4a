#include "storage/posix_file_system.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include <algorithm>
#include <cerrno>

#include "storage/internal/posix_io.h"

namespace phalanx::storage {
namespace {

using internal::Fd;
using internal::os_error;

class PosixFile final : public File {
 public:
  PosixFile(Fd fd, std::string path, std::atomic<std::uint64_t>& syncs)
      : fd_(std::move(fd)), path_(std::move(path)), syncs_(syncs) {}

  Status write_at(std::uint64_t offset, ByteView data) override {
    return internal::pwrite_all(fd_.get(), offset, data, path_);
  }

  Result<std::size_t> read_at(std::uint64_t offset, std::span<std::uint8_t> out) override {
    std::size_t done = 0;
    while (done < out.size()) {
      const ssize_t n = ::pread(fd_.get(), out.data() + done, out.size() - done,
                                static_cast<off_t>(offset + done));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return os_error("read", path_, errno);
      if (n == 0) break;
      done += static_cast<std::size_t>(n);
    }
    return done;
  }

  Result<std::uint64_t> size() override {
    struct stat st {};
    if (::fstat(fd_.get(), &st) != 0) return os_error("stat", path_, errno);
    return static_cast<std::uint64_t>(st.st_size);
  }

  Status truncate(std::uint64_t size) override {
    if (::ftruncate(fd_.get(), static_cast<off_t>(size)) != 0) {
      return os_error("truncate", path_, errno);
    }
    return {};
  }

  Status sync() override {
    syncs_.fetch_add(1, std::memory_order_relaxed);
    if (::fsync(fd_.get()) != 0) return os_error("fsync", path_, errno);
    return {};
  }

  Status datasync() override {
    syncs_.fetch_add(1, std::memory_order_relaxed);
    if (::fdatasync(fd_.get()) != 0) return os_error("fdatasync", path_, errno);
    return {};
  }

 private:
  Fd fd_;
  std::string path_;
  std::atomic<std::uint64_t>& syncs_;
};

}  // namespace

Result<std::unique_ptr<File>> PosixFileSystem::open(const std::string& path, OpenMode mode) {
  int flags = O_CLOEXEC;
  switch (mode) {
    case OpenMode::kRead: flags |= O_RDONLY; break;
    case OpenMode::kReadWrite: flags |= O_RDWR; break;
    case OpenMode::kCreate: flags |= O_RDWR | O_CREAT; break;
    case OpenMode::kCreateNew: flags |= O_RDWR | O_CREAT | O_EXCL; break;
  }
  Fd fd(::open(path.c_str(), flags, 0644));
  if (!fd.valid()) return os_error("open", path, errno);
  return std::unique_ptr<File>(std::make_unique<PosixFile>(std::move(fd), path, syncs_));
}

Status PosixFileSystem::rename(const std::string& from, const std::string& to) {
  if (::rename(from.c_str(), to.c_str()) != 0) return os_error("rename", from, errno);
  return {};
}

Status PosixFileSystem::remove(const std::string& path) {
  if (::unlink(path.c_str()) != 0) return os_error("remove", path, errno);
  return {};
}

Status PosixFileSystem::create_dir(const std::string& path) {
  if (::mkdir(path.c_str(), 0755) != 0 && errno != EEXIST) {
    return os_error("create directory", path, errno);
  }
  return {};
}

Status PosixFileSystem::sync_dir(const std::string& path) {
  syncs_.fetch_add(1, std::memory_order_relaxed);
  return internal::fsync_dir(path);
}

Result<std::vector<std::string>> PosixFileSystem::list(const std::string& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return os_error("list", dir, errno);
  std::vector<std::string> names;
  errno = 0;
  while (const dirent* e = ::readdir(d)) {
    const std::string name = e->d_name;
    if (name != "." && name != "..") names.push_back(name);
  }
  const int err = errno;
  ::closedir(d);
  if (err != 0) return os_error("list", dir, err);
  std::sort(names.begin(), names.end());
  return names;
}

Result<bool> PosixFileSystem::exists(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) return true;
  if (errno == ENOENT) return false;
  return os_error("stat", path, errno);
}

Result<std::uint64_t> PosixFileSystem::free_bytes(const std::string& dir) {
  struct statvfs st {};
  if (::statvfs(dir.c_str(), &st) != 0) return os_error("statvfs", dir, errno);
  return static_cast<std::uint64_t>(st.f_bavail) * st.f_frsize;
}

}  // namespace phalanx::storage
