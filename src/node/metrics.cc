#include "node/metrics.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "cluster/manifest.h"

namespace phalanx::node {

void LatencyHistogram::observe(double seconds) {
  std::size_t i = 0;
  while (i < kBounds.size() && seconds > kBounds[i]) ++i;
  ++buckets_[i];
  ++count_;
  sum_ += seconds;
}

std::uint64_t LatencyHistogram::at_or_below(std::size_t i) const {
  std::uint64_t total = 0;
  for (std::size_t b = 0; b <= i && b < buckets_.size(); ++b) total += buckets_[b];
  return total;
}

std::map<std::string, std::uint64_t> all_rejections(const NodeReport& report) {
  std::map<std::string, std::uint64_t> merged = report.status.rejected;
  for (const auto& [kind, n] : report.counters.rejected) merged[kind] += n;
  return merged;
}

std::string prometheus_text(const NodeReport& r) {
  std::string out;
  auto metric = [&out](std::string_view name, std::string_view type, std::string_view help,
                       auto value) {
    out += fmt::format("# HELP phalanx_{} {}\n# TYPE phalanx_{} {}\nphalanx_{} {}\n", name, help,
                       name, type, name, value);
  };
  const NodeCounters& c = r.counters;
  metric("up", "gauge", "1 while the replica serves, 0 after a storage failure", r.failure ? 0 : 1);
  metric("term", "gauge", "Raft term (crash) or BFT round (byzantine)", r.status.term);
  metric("commit_index", "gauge", "Highest committed log index (crash) or block round",
         r.status.commit.value());
  metric("applied_index", "gauge", "Highest log index applied to the state machine",
         r.status.applied.value());
  metric("view_changes_total", "counter",
         "Terms entered (crash), rounds entered by a timeout certificate (byzantine)",
         r.status.view_changes);
  metric("fsyncs_total", "counter", "fsync, fdatasync and directory syncs", r.fsyncs);
  metric("connections_accepted_total", "counter", "Inbound TLS connections authenticated",
         c.connections_accepted);
  out +=
      "# HELP phalanx_connections_refused_total Connections closed by a limit, by limit\n"
      "# TYPE phalanx_connections_refused_total counter\n";
  for (const char* limit :
       {"handshakes", "handshakes_per_address", "connections", "connections_per_principal"}) {
    const auto n = c.connections_refused.find(limit);
    out += fmt::format("phalanx_connections_refused_total{{limit=\"{}\"}} {}\n", limit,
                       n == c.connections_refused.end() ? 0 : n->second);
  }
  metric("connections_idle_closed_total", "counter",
         "Client connections closed after client_idle_timeout_ms without a frame", c.idle_closed);
  metric("tls_handshakes_failed_total", "counter",
         "Handshakes failed, certificates not pinned included", c.handshakes_failed);
  metric("frames_received_total", "counter", "Frames read from peers and clients", c.frames_in);
  metric("bytes_received_total", "counter", "Frame payload bytes read", c.bytes_in);
  metric("frames_sent_total", "counter", "Frames queued to peers and clients", c.frames_out);
  metric("frames_dropped_total", "counter", "Frames not sent: peer not connected or queue full",
         c.frames_dropped);
  metric("flushes_total", "counter",
         "Crash mode: batches of frames stepped, then persisted together", c.flushes);
  metric("client_requests_total", "counter", "Client calls received", c.client_calls);
  metric("client_answers_total", "counter", "Client answers sent", c.client_answers);
  metric("peers_connected", "gauge", "Outgoing peer connections up", r.peers_connected);
  metric("clients_connected", "gauge", "Client connections open", r.clients_connected);
  if (r.status.evidence) {
    metric("equivocation_evidence", "gauge", "Equivocation proofs held", *r.status.evidence);
  }
  if (r.status.checkpoint_height) {
    metric("checkpoint_height", "gauge", "Height of the newest checkpoint certificate",
           *r.status.checkpoint_height);
  }
  if (const auto& sig = r.signatures) {
    metric("signatures_verified_total", "counter", "Ed25519 signature checks run", sig->checked);
    metric("signature_memo_hits_total", "counter", "Signature checks answered from the memo",
           sig->memo_hits);
    metric("verify_workers", "gauge", "Threads checking signatures ahead of the replica",
           sig->workers);
    metric("verify_jobs_total", "counter", "Frames checked by the verify workers",
           sig->worker_jobs);
  }
  out +=
      "# HELP phalanx_rejected_total Inputs refused, by security error kind\n"
      "# TYPE phalanx_rejected_total counter\n";
  for (const auto& [kind, n] : all_rejections(r)) {
    out += fmt::format("phalanx_rejected_total{{kind=\"{}\"}} {}\n", kind, n);
  }
  const LatencyHistogram& h = c.request_latency;
  out +=
      "# HELP phalanx_request_seconds Client request latency at this replica\n"
      "# TYPE phalanx_request_seconds histogram\n";
  for (std::size_t i = 0; i < LatencyHistogram::kBounds.size(); ++i) {
    out += fmt::format("phalanx_request_seconds_bucket{{le=\"{}\"}} {}\n",
                       LatencyHistogram::kBounds[i], h.at_or_below(i));
  }
  out += fmt::format("phalanx_request_seconds_bucket{{le=\"+Inf\"}} {}\n", h.count());
  out += fmt::format("phalanx_request_seconds_sum {}\nphalanx_request_seconds_count {}\n", h.sum(),
                     h.count());
  return out;
}

std::string status_json(const NodeReport& r) {
  nlohmann::json j{{"id", r.status.id.value()},
                   {"mode", cluster::mode_name(r.status.mode)},
                   {"role", r.status.role},
                   {"term", r.status.term},
                   {"commit", r.status.commit.value()},
                   {"applied", r.status.applied.value()},
                   {"fsyncs", r.fsyncs},
                   {"peers_connected", r.peers_connected},
                   {"peers_total", r.peers_total},
                   {"clients_connected", r.clients_connected},
                   {"view_changes", r.status.view_changes},
                   {"requests", r.counters.client_calls},
                   {"rejected", all_rejections(r)}};
  j["leader"] = r.status.leader ? nlohmann::json(r.status.leader->value()) : nlohmann::json();
  if (r.status.evidence) j["evidence"] = *r.status.evidence;
  if (r.status.checkpoint_height) j["checkpoint_height"] = *r.status.checkpoint_height;
  if (const auto& sig = r.signatures) {
    j["signatures"] = {{"verified", sig->checked},
                       {"memo_hits", sig->memo_hits},
                       {"workers", sig->workers},
                       {"worker_jobs", sig->worker_jobs}};
  }
  j["failure"] = r.failure ? nlohmann::json(*r.failure) : nlohmann::json();
  return j.dump();
}

}  // namespace phalanx::node
