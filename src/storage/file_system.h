// The file-system seam.
//
// Storage code never calls the OS directly; it takes a FileSystem&. Two
// implementations: PosixFileSystem (the real disk) and sim::SimFileSystem,
// which loses, keeps or tears unsynced data on a simulated power loss and
// injects EIO, ENOSPC and bit flips from a seed.
//
// Durability contract (what callers may rely on, and all they may rely on):
//   - File::sync()/datasync() make the file's contents written so far durable.
//   - A new name (create, rename, remove) is durable only after sync_dir()
//     of the directory holding it.
//   - rename() atomically replaces the target.
//   - After a failed sync the file's durable contents are unknown: treat the
//     file as lost and recover from what a restart finds (Linux may have
//     dropped the dirty pages, so a second sync can succeed falsely).
//
// Paths are plain strings joined with '/'.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/bytes.h"
#include "core/error.h"

namespace phalanx::storage {

enum class OpenMode : std::uint8_t {
  kRead,       // existing file, read only
  kReadWrite,  // existing file
  kCreate,     // open read-write, creating it empty if absent
  kCreateNew,  // create; fails if it exists
};

class File {
 public:
  virtual ~File() = default;

  // Writes all of `data` at `offset`, extending the file if needed. On
  // kNoSpace or kIo a prefix of `data` may have been written.
  [[nodiscard]] virtual Status write_at(std::uint64_t offset, ByteView data) = 0;
  // Reads up to out.size() bytes at `offset`; fewer only at end of file.
  [[nodiscard]] virtual Result<std::size_t> read_at(std::uint64_t offset,
                                                    std::span<std::uint8_t> out) = 0;
  [[nodiscard]] virtual Result<std::uint64_t> size() = 0;
  [[nodiscard]] virtual Status truncate(std::uint64_t size) = 0;
  [[nodiscard]] virtual Status sync() = 0;      // fsync
  [[nodiscard]] virtual Status datasync() = 0;  // fdatasync

  // write_at(size()).
  [[nodiscard]] Status append(ByteView data);
  // Exactly `n` bytes at `offset`, or kCorruption if the file is shorter.
  [[nodiscard]] Result<Bytes> read_exact(std::uint64_t offset, std::size_t n);
};

class FileSystem {
 public:
  virtual ~FileSystem() = default;

  [[nodiscard]] virtual Result<std::unique_ptr<File>> open(const std::string& path,
                                                           OpenMode mode) = 0;
  [[nodiscard]] virtual Status rename(const std::string& from, const std::string& to) = 0;
  [[nodiscard]] virtual Status remove(const std::string& path) = 0;
  // Succeeds if the directory already exists.
  [[nodiscard]] virtual Status create_dir(const std::string& path) = 0;
  [[nodiscard]] virtual Status sync_dir(const std::string& path) = 0;
  // Names (not paths) of the entries in `dir`, sorted.
  [[nodiscard]] virtual Result<std::vector<std::string>> list(const std::string& dir) = 0;
  [[nodiscard]] virtual Result<bool> exists(const std::string& path) = 0;
  [[nodiscard]] virtual Result<std::uint64_t> free_bytes(const std::string& dir) = 0;
};

[[nodiscard]] std::string join_path(std::string_view dir, std::string_view name);
[[nodiscard]] std::string parent_path(std::string_view path);

// Reads a whole file of at most `bytes_max` bytes.
[[nodiscard]] Result<Bytes> read_whole_file(FileSystem& fs, const std::string& path,
                                            std::size_t bytes_max);

// Makes a file found at start-up durable, contents and name: after a process
// crash the page cache may hold writes and renames that never reached the
// disk, and nothing read at recovery may be acted on until it has.
[[nodiscard]] Status make_durable(FileSystem& fs, const std::string& path);

// Creates `dir` (and makes its name durable) if it does not exist.
[[nodiscard]] Status ensure_dir(FileSystem& fs, const std::string& dir);

}  // namespace phalanx::storage
