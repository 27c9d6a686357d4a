// FileSystem over POSIX calls (open/pwrite/pread/fsync/fdatasync/rename).
#pragma once

#include <atomic>

#include "storage/file_system.h"

namespace phalanx::storage {

class PosixFileSystem final : public FileSystem {
 public:
  Result<std::unique_ptr<File>> open(const std::string& path, OpenMode mode) override;
  Status rename(const std::string& from, const std::string& to) override;
  Status remove(const std::string& path) override;
  Status create_dir(const std::string& path) override;
  Status sync_dir(const std::string& path) override;
  Result<std::vector<std::string>> list(const std::string& dir) override;
  Result<bool> exists(const std::string& path) override;
  Result<std::uint64_t> free_bytes(const std::string& dir) override;

  // fsync, fdatasync and directory syncs issued so far (for metrics).
  [[nodiscard]] std::uint64_t syncs() const { return syncs_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> syncs_{0};
};

}  // namespace phalanx::storage
