// The cluster manifest: who is in the cluster, where replicas listen, and
// the keys and certificate pins each principal is trusted by (the trust
// registry, DESIGN.md "Interfaces"). `phalanx cluster init` writes it; every
// replica and client reads the same file. Pure: text in, values out.
//
//   Result<Manifest> m = Manifest::parse(text);      // kInvalidArgument, with the reason
//   TrustRegistry registry = *m->registry();        // revoked clients left out
//   net::Pins pins = m->pins();                     // the TLS trust store
//
// Format (TOML, docs/operations.md):
//   cluster = "<32 hex>"    mode = "crash" | "byzantine"    epoch = 1    quorum = 3
//   [[replica]] id, host, port, public_key (64 hex), tls_fingerprint ("sha256:…")
//   [[client]]  id, role ("client" | "admin" | "evidence-source"), public_key,
//               tls_fingerprint, revoked (optional, false)
//   app = "kv" | "evidence"   (optional, "kv")
//   [evidence]  the evidence service's genesis configuration, all optional:
//               resolution, ratio_bound, source_clip, prior (nats); trim,
//               min_sources, items_per_block, hypotheses_max; weighted
#pragma once

#include <string>
#include <vector>

#include "apps/evidence/evidence.h"
#include "consensus/common/quorum.h"
#include "consensus/common/replica.h"
#include "crypto/keys.h"
#include "net/tls.h"
#include "security/registry.h"

namespace phalanx::cluster {

struct ReplicaEntry {
  NodeId id;
  std::string host;
  std::uint16_t port = 0;
  crypto::PublicKey public_key;
  net::Fingerprint tls_fingerprint;
};

struct ClientEntry {
  ClientId id;
  Role role = Role::kClient;
  crypto::PublicKey public_key;
  net::Fingerprint tls_fingerprint;
  bool revoked = false;  // kept for the record; trusted for nothing
};

// The replicated application every replica of the cluster runs.
enum class App : std::uint8_t { kKv, kEvidence };
[[nodiscard]] std::string_view app_name(App app);

// The largest manifest file read: about 16,000 clients.
inline constexpr std::size_t kManifestBytesMax = 4u << 20;

struct Manifest {
  ClusterId cluster;
  consensus::FaultModel mode = consensus::FaultModel::kCrash;
  Epoch epoch{1};
  std::uint32_t quorum = 0;  // q, committed with the epoch
  std::vector<ReplicaEntry> replicas;  // ascending ids
  std::vector<ClientEntry> clients;    // ascending ids
  App app = App::kKv;
  evidence::EvidenceConfig evidence;  // app evidence: the configuration at genesis

  // The quorum rule for `mode`, checked against the replica count.
  [[nodiscard]] Result<consensus::Quorum> quorum_rule() const;
  [[nodiscard]] Result<security::TrustRegistry> registry() const;
  [[nodiscard]] net::Pins pins() const;
  [[nodiscard]] std::vector<NodeId> replica_ids() const;
  [[nodiscard]] const ReplicaEntry* replica(NodeId id) const;

  [[nodiscard]] std::string to_toml() const;
  // kInvalidArgument: not TOML, a field missing or of the wrong type, ids
  // not unique, a key or fingerprint used twice, or a quorum the mode
  // does not allow with this many replicas.
  [[nodiscard]] static Result<Manifest> parse(std::string_view text);
};

[[nodiscard]] std::string_view mode_name(consensus::FaultModel mode);

}  // namespace phalanx::cluster
