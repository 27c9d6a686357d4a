// Key files on disk (formats: docs/security-model.md, "Key files").
//
//   PHALANX_TRY(write_secret_key_file("node1.key", kp));      // mode 0600
//   PHALANX_TRY(write_public_key_file("node1.pub", kp.public_key()));
//   Result<crypto::KeyPair> kp = read_secret_key_file("node1.key");
//
// Writing never replaces an existing file (a lost key is a lost identity):
// the contents go to "<path>.tmp", are fsynced, then hard-linked into place,
// which fails if the target exists, and the directory is fsynced.
// Reading a secret key refuses a file that group or others can access, a
// symlink, or anything that is not a regular file of at most 4 KiB.
#pragma once

#include <filesystem>

#include "core/error.h"
#include "crypto/keys.h"

namespace phalanx::storage {

[[nodiscard]] Status write_secret_key_file(const std::filesystem::path& path,
                                           const crypto::KeyPair& key);
[[nodiscard]] Status write_public_key_file(const std::filesystem::path& path,
                                           const crypto::PublicKey& key);

[[nodiscard]] Result<crypto::KeyPair> read_secret_key_file(const std::filesystem::path& path);

// Other key material in text form (a TLS key and certificate in PEM), by the
// same rules: secrets are written 0600 and refused if group or others can
// read them; nothing is overwritten; at most 4 KiB, unless a larger limit is
// given (a manifest lists every client).
[[nodiscard]] Status write_secret_text_file(const std::filesystem::path& path,
                                            std::string_view text);
[[nodiscard]] Status write_public_text_file(const std::filesystem::path& path,
                                            std::string_view text);
[[nodiscard]] Result<std::string> read_secret_text_file(const std::filesystem::path& path);
inline constexpr std::size_t kTextFileBytesDefault = 4096;
[[nodiscard]] Result<std::string> read_public_text_file(
    const std::filesystem::path& path, std::size_t bytes_max = kTextFileBytesDefault);
[[nodiscard]] Result<crypto::PublicKey> read_public_key_file(const std::filesystem::path& path);

}  // namespace phalanx::storage
