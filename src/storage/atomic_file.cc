#include "storage/atomic_file.h"

#include <fmt/format.h>

#include <cstring>

#include "storage/checksum.h"

namespace phalanx::storage {
namespace {

constexpr std::uint8_t kMagic[8] = {'P', 'H', 'X', 'M', 'E', 'T', 'A', 1};
constexpr std::size_t kOverheadBytes = 8 + 4 + 8;

}  // namespace

Status write_atomic(FileSystem& fs, const std::string& path, ByteView payload) {
  PHALANX_ASSERT(payload.size() <= UINT32_MAX);
  Bytes image(kMagic, kMagic + 8);
  image.resize(12);
  put_le(image.data() + 8, payload.size(), 4);
  image.insert(image.end(), payload.begin(), payload.end());
  const std::uint64_t sum = checksum64(image);
  image.resize(image.size() + 8);
  put_le(image.data() + image.size() - 8, sum, 8);

  const std::string tmp = path + ".tmp";
  {
    PHALANX_ASSIGN_OR_RETURN(std::unique_ptr<File> file, fs.open(tmp, OpenMode::kCreate));
    PHALANX_TRY(file->truncate(0));
    PHALANX_TRY(file->write_at(0, image));
    PHALANX_TRY(file->sync());
  }
  PHALANX_TRY(fs.rename(tmp, path));
  return fs.sync_dir(parent_path(path));
}

Result<Bytes> decode_atomic_image(ByteView image, const std::string& path) {
  const auto corrupt = [&](std::string_view why) {
    return fail(ErrorCode::kCorruption, fmt::format("{}: {}", path, why));
  };
  if (image.size() < kOverheadBytes) return corrupt("shorter than its header");
  if (std::memcmp(image.data(), kMagic, 8) != 0) return corrupt("bad magic number");
  const std::uint64_t length = get_le(image.data() + 8, 4);
  if (length != image.size() - kOverheadBytes) return corrupt("length does not match the file");
  const std::uint64_t stored = get_le(image.data() + image.size() - 8, 8);
  if (checksum64(image.first(image.size() - 8)) != stored) return corrupt("checksum mismatch");
  const ByteView payload = image.subspan(12, length);
  return Bytes(payload.begin(), payload.end());
}

Result<std::optional<Bytes>> read_atomic(FileSystem& fs, const std::string& path,
                                         std::size_t payload_bytes_max) {
  Result<Bytes> image = read_whole_file(fs, path, payload_bytes_max + kOverheadBytes);
  if (!image) {
    if (image.error().code() == ErrorCode::kNotFound) return std::optional<Bytes>{};
    return Unexpected(std::move(image).error());
  }
  PHALANX_ASSIGN_OR_RETURN(Bytes payload, decode_atomic_image(*image, path));
  return std::optional<Bytes>(std::move(payload));
}

}  // namespace phalanx::storage
