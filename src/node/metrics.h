// What a running replica reports: counters kept by the node process, the
// replica's own status, and their two renderings (pure): Prometheus text for
// /metrics and JSON for /status and `phalanx status`.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "consensus/common/replica.h"

namespace phalanx::node {

// Cumulative buckets, in seconds, as Prometheus histograms count.
class LatencyHistogram {
 public:
  static constexpr std::array<double, 14> kBounds = {0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05,
                                                     0.1,    0.2,   0.5,   1.0,   2.0,  5.0,  10.0};
  void observe(double seconds);
  [[nodiscard]] std::uint64_t count() const { return count_; }
  [[nodiscard]] double sum() const { return sum_; }
  // Observations at or below kBounds[i] (i == kBounds.size(): all).
  [[nodiscard]] std::uint64_t at_or_below(std::size_t i) const;

 private:
  std::array<std::uint64_t, kBounds.size() + 1> buckets_{};  // not cumulative
  std::uint64_t count_ = 0;
  double sum_ = 0;
};

struct NodeCounters {
  std::uint64_t connections_accepted = 0;
  // Connections closed by a limit, by which: handshakes, handshakes_per_address,
  // connections, connections_per_principal.
  std::map<std::string, std::uint64_t> connections_refused;
  std::uint64_t idle_closed = 0;  // client connections closed after client_idle_timeout_ms
  std::uint64_t handshakes_failed = 0;    // includes certificates not pinned
  std::uint64_t frames_in = 0;
  std::uint64_t bytes_in = 0;
  std::uint64_t frames_out = 0;
  std::uint64_t frames_dropped = 0;  // a peer not connected or its queue full
  std::uint64_t flushes = 0;         // crash mode: batches of frames committed together
  std::uint64_t client_calls = 0;
  std::uint64_t client_answers = 0;
  // Refused by the node before reaching the replica, by SecurityError kind.
  std::map<std::string, std::uint64_t> rejected;
  LatencyHistogram request_latency;  // call received → answer sent
};

struct NodeReport {
  consensus::ReplicaStatus status;
  NodeCounters counters;
  std::uint64_t fsyncs = 0;
  std::size_t peers_connected = 0;  // outgoing peer channels up
  std::size_t peers_total = 0;
  std::size_t clients_connected = 0;
  // Byzantine: Ed25519 checks run and answers found in the memo (every
  // thread), worker threads and the frames they checked ahead of the replica.
  struct Signatures {
    std::uint64_t checked = 0;
    std::uint64_t memo_hits = 0;
    std::size_t workers = 0;
    std::uint64_t worker_jobs = 0;
  };
  std::optional<Signatures> signatures;
  std::optional<std::string> failure;  // storage failed: the replica stopped
};

// Rejections of the node and of the replica, merged, by kind.
[[nodiscard]] std::map<std::string, std::uint64_t> all_rejections(const NodeReport& report);

[[nodiscard]] std::string prometheus_text(const NodeReport& report);
[[nodiscard]] std::string status_json(const NodeReport& report);

}  // namespace phalanx::node
