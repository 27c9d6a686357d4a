// Which cluster and which client identity a client command uses (--dir and
// --client, or --manifest and --identity), shared by `kv` and `evidence`.
#pragma once

#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <filesystem>

#include "cli/layout.h"
#include "phalanx/client.h"

namespace phalanx::cli {

// The longest --timeout-ms any command takes: a day.
inline constexpr std::uint64_t kTimeoutMsMax = 86'400'000;

// A --prefix that generated keys start with: valid UTF-8, with room left
// under kv::kKeyBytesMax for the worker and counter appended to it.
inline CLI::Validator key_prefix_check() {
  return CLI::Validator(
      [](const std::string& prefix) -> std::string {
        constexpr std::size_t kSuffixBytesMax = 64;
        if (prefix.size() > kv::kKeyBytesMax - kSuffixBytesMax) {
          return fmt::format("at most {} bytes", kv::kKeyBytesMax - kSuffixBytesMax);
        }
        if (!codec::is_valid_utf8(prefix)) return "must be valid UTF-8";
        return {};
      },
      "", "KEY PREFIX");
}

struct Target {
  std::filesystem::path dir;
  std::uint64_t client = 1;
  std::filesystem::path manifest;
  std::filesystem::path identity;
  std::uint64_t timeout_ms = 10'000;

  [[nodiscard]] Result<client::Client> open_client() const {
    if (dir.empty() && (manifest.empty() || identity.empty())) {
      return fail(ErrorCode::kInvalidArgument,
                  "say where the cluster is: --dir D (from `cluster init`), or --manifest and "
                  "--identity");
    }
    client::ClientOptions o;
    o.manifest = (manifest.empty() ? layout::manifest(dir) : manifest).string();
    o.identity_dir =
        (identity.empty() ? layout::client_dir(dir, ClientId{client}) : identity).string();
    o.timeout = std::chrono::milliseconds(timeout_ms);
    return client::Client::open(o);
  }
};

inline void add_target_options(CLI::App* cmd, Target& t) {
  cmd->add_option("--dir", t.dir, "Cluster directory from `phalanx cluster init`");
  cmd->add_option("--client", t.client, "Use client-N of --dir")
      ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{1} << 32))
      ->capture_default_str();
  cmd->add_option("--manifest", t.manifest, "The cluster manifest (instead of --dir)");
  cmd->add_option("--identity", t.identity,
                  "Directory with client.key, tls.key, tls.crt (instead of --dir)");
  cmd->add_option("--timeout-ms", t.timeout_ms, "Give up after this long, retries included")
      ->check(CLI::Range(std::uint64_t{1}, kTimeoutMsMax))
      ->capture_default_str();
}

}  // namespace phalanx::cli
