#include "storage/file_system.h"

#include <fmt/format.h>

namespace phalanx::storage {

Status File::append(ByteView data) {
  PHALANX_ASSIGN_OR_RETURN(std::uint64_t end, size());
  return write_at(end, data);
}

Result<Bytes> File::read_exact(std::uint64_t offset, std::size_t n) {
  Bytes out(n);
  PHALANX_ASSIGN_OR_RETURN(std::size_t got, read_at(offset, out));
  if (got != n) {
    return fail(ErrorCode::kCorruption,
                fmt::format("expected {} bytes at offset {}, file ends after {}", n, offset, got));
  }
  return out;
}

std::string join_path(std::string_view dir, std::string_view name) {
  if (dir.empty()) return std::string(name);
  if (dir.back() == '/') return fmt::format("{}{}", dir, name);
  return fmt::format("{}/{}", dir, name);
}

std::string parent_path(std::string_view path) {
  while (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  const std::size_t slash = path.rfind('/');
  if (slash == std::string_view::npos) return ".";
  if (slash == 0) return "/";
  return std::string(path.substr(0, slash));
}

Result<Bytes> read_whole_file(FileSystem& fs, const std::string& path, std::size_t bytes_max) {
  PHALANX_ASSIGN_OR_RETURN(std::unique_ptr<File> file, fs.open(path, OpenMode::kRead));
  PHALANX_ASSIGN_OR_RETURN(std::uint64_t size, file->size());
  if (size > bytes_max) {
    return fail(ErrorCode::kCorruption,
                fmt::format("{} is {} bytes; at most {} expected", path, size, bytes_max));
  }
  return file->read_exact(0, static_cast<std::size_t>(size));
}

Status make_durable(FileSystem& fs, const std::string& path) {
  PHALANX_ASSIGN_OR_RETURN(std::unique_ptr<File> file, fs.open(path, OpenMode::kRead));
  PHALANX_TRY(file->sync());
  return fs.sync_dir(parent_path(path));
}

Status ensure_dir(FileSystem& fs, const std::string& dir) {
  PHALANX_ASSIGN_OR_RETURN(bool present, fs.exists(dir));
  if (present) return {};
  const std::string parent = parent_path(dir);
  if (parent != dir) PHALANX_TRY(ensure_dir(fs, parent));
  PHALANX_TRY(fs.create_dir(dir));
  return fs.sync_dir(parent_path(dir));
}

}  // namespace phalanx::storage
