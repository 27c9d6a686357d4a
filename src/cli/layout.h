// Where `phalanx cluster init` puts things under the cluster directory D,
// and where the other commands find them:
//
//   D/manifest.toml                 the trust registry (cluster/manifest.h)
//   D/replica-N/config.toml         `phalanx node --config` reads it
//   D/replica-N/{node.key,node.pub,tls.key,tls.crt}
//   D/replica-N/data/               the data directory
//   D/replica-N/node.log, node.pid  written by `phalanx cluster up`
//   D/client-N/{client.key,client.pub,tls.key,tls.crt}
#pragma once

#include <filesystem>
#include <string>

#include "core/ids.h"

namespace phalanx::cli::layout {

inline std::filesystem::path manifest(const std::filesystem::path& dir) {
  return dir / "manifest.toml";
}
inline std::filesystem::path replica_dir(const std::filesystem::path& dir, NodeId id) {
  return dir / ("replica-" + std::to_string(id.value()));
}
inline std::filesystem::path client_dir(const std::filesystem::path& dir, ClientId id) {
  return dir / ("client-" + std::to_string(id.value()));
}
inline std::filesystem::path config(const std::filesystem::path& dir, NodeId id) {
  return replica_dir(dir, id) / "config.toml";
}
inline std::filesystem::path pid_file(const std::filesystem::path& dir, NodeId id) {
  return replica_dir(dir, id) / "node.pid";
}
inline std::filesystem::path log_file(const std::filesystem::path& dir, NodeId id) {
  return replica_dir(dir, id) / "node.log";
}

}  // namespace phalanx::cli::layout
