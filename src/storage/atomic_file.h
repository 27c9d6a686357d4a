// Small files replaced atomically (format: docs/storage.md, "Atomic files").
//
//   PHALANX_TRY(write_atomic(fs, "data/hard_state", codec::encode(state)));
//   Result<std::optional<Bytes>> bytes = read_atomic(fs, "data/hard_state", 1 << 20);
//
// write_atomic: NAME.tmp is written and fsynced, renamed over NAME, and the
// directory fsynced; when it returns, a restart finds the new contents.
// A power loss at any point leaves the old file or the new one, whole.
// read_atomic: nullopt if the file does not exist; kCorruption (naming the
// file) if its magic, length or checksum is wrong. Never a half-read value.
#pragma once

#include <optional>
#include <string>

#include "core/error.h"
#include "storage/file_system.h"

namespace phalanx::storage {

[[nodiscard]] Status write_atomic(FileSystem& fs, const std::string& path, ByteView payload);

[[nodiscard]] Result<std::optional<Bytes>> read_atomic(FileSystem& fs, const std::string& path,
                                                       std::size_t payload_bytes_max);

// Checks a whole atomic file image; returns its payload.
[[nodiscard]] Result<Bytes> decode_atomic_image(ByteView image, const std::string& path);

}  // namespace phalanx::storage
