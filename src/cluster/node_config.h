// One replica's configuration file (TOML), written by `phalanx cluster init`
// and read by `phalanx node --config FILE`. Pure: text in, values out;
// relative paths are resolved against `base_dir` (the file's directory).
//
//   id = 1
//   manifest = "../manifest.toml"
//   data_dir = "data"
//   identity_key = "node.key"            # Ed25519, signs votes, blocks, replies
//   tls_key = "tls.key"                  # Ed25519, TLS only
//   tls_certificate = "tls.crt"
//   listen = "127.0.0.1:7001"            # optional; default the manifest's address
//   admin = "127.0.0.1:8001"             # optional; no admin listener without it
//   tick_ms = 10
//   verify_threads = 2                   # optional; default one per core, 0: none
//   group_commit = true                  # optional; crash mode: one fsync per burst of frames
//   background_sync = true               # optional; crash mode: fsync on a disk thread
//   snapshot_every = 100000              # optional; crash mode: entries between snapshots
//   [limits]  client_requests_per_second, client_burst, peer_frames_per_second,
//             peer_burst, connections_max, connections_per_principal_max,
//             handshakes_max, handshakes_per_address_max, handshake_timeout_ms,
//             client_idle_timeout_ms, frame_timeout_ms (each optional)
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "core/error.h"
#include "core/ids.h"

namespace phalanx::cluster {

struct Endpoint {
  std::string host;
  std::uint16_t port = 0;
  [[nodiscard]] std::string to_string() const;
  // "host:port"; kInvalidArgument otherwise.
  [[nodiscard]] static Result<Endpoint> parse(std::string_view text);
};

// What one replica admits (docs/operations.md, "Limits"). An unauthenticated
// party can only ever hold a handshake slot, for handshake_timeout_ms: the
// handshake budgets are apart from the authenticated clients' budget, and
// replicas (the configured peers) count against neither connections_max nor
// the client idle timeout.
struct NodeLimits {
  std::uint64_t client_requests_per_second = 20'000;
  std::uint64_t client_burst = 40'000;
  std::uint64_t peer_frames_per_second = 200'000;
  std::uint64_t peer_burst = 400'000;
  std::uint64_t connections_max = 1024;  // authenticated client connections
  std::uint64_t connections_per_principal_max = 64;
  std::uint64_t handshakes_max = 256;             // TLS handshakes in flight
  std::uint64_t handshakes_per_address_max = 16;  // in flight from one IP address
  std::uint64_t handshake_timeout_ms = 2'000;
  std::uint64_t client_idle_timeout_ms = 300'000;  // no frame begun: closed (0: never)
  std::uint64_t frame_timeout_ms = 10'000;         // a frame begun must be whole by then
};

struct NodeConfig {
  NodeId id;
  std::string manifest;
  std::string data_dir;
  std::string identity_key;
  std::string tls_key;
  std::string tls_certificate;
  std::optional<Endpoint> listen;
  std::optional<Endpoint> admin;
  std::uint32_t tick_ms = 10;
  // Byzantine mode: worker threads that check signatures ahead of the
  // replica (node/verify_pool.h). nullopt: one per core; 0: no workers, the
  // replica's thread checks everything itself.
  std::optional<std::uint32_t> verify_threads;
  // Crash mode: step every frame already waiting before persisting, so one
  // fsync covers the burst (node/raft_replica.h, defer_drive). false: drive
  // after every frame, as before.
  bool group_commit = true;
  bool background_sync = true;
  std::uint64_t snapshot_every = 100'000;  // etcd's --snapshot-count default
  NodeLimits limits;

  // Paths are written relative to `base_dir` where they lie under it.
  [[nodiscard]] std::string to_toml(std::string_view base_dir) const;
  [[nodiscard]] static Result<NodeConfig> parse(std::string_view text, std::string_view base_dir);
};

}  // namespace phalanx::cluster
