#include "cluster/manifest.h"

#include <set>

#include "cluster/toml_fields.h"

namespace phalanx::cluster {
namespace {

namespace tf = toml_fields;
using consensus::FaultModel;

Unexpected<Error> invalid(std::string message) {
  return fail(ErrorCode::kInvalidArgument, "manifest: " + std::move(message));
}

Result<Role> parse_role(std::string_view text, std::string_view where) {
  for (Role r : {Role::kClient, Role::kAdmin, Role::kEvidenceSource}) {
    if (role_name(r) == text) return r;
  }
  return invalid(fmt::format("{}: role '{}' is not client, admin or evidence-source", where, text));
}

Result<crypto::PublicKey> public_key(const toml::table& t, std::string_view where) {
  PHALANX_ASSIGN_OR_RETURN(std::string hex, tf::string(t, "public_key", where));
  Result<crypto::PublicKey> key = crypto::public_key_from_hex(hex);
  if (!key) return invalid(fmt::format("{}: public_key: {}", where, key.error().message()));
  return *key;
}

Result<net::Fingerprint> fingerprint(const toml::table& t, std::string_view where) {
  PHALANX_ASSIGN_OR_RETURN(std::string text, tf::string(t, "tls_fingerprint", where));
  Result<net::Fingerprint> fp = net::fingerprint_from_text(text);
  if (!fp) return invalid(fmt::format("{}: tls_fingerprint: {}", where, fp.error().message()));
  return *fp;
}

// Each table of the array `key`, in order; none if absent.
Result<std::vector<const toml::table*>> tables(const toml::table& root, std::string_view key) {
  std::vector<const toml::table*> out;
  const toml::node* node = root.get(key);
  if (node == nullptr) return out;
  const toml::array* array = node->as_array();
  if (array == nullptr) return invalid(fmt::format("'{}' must be an array of tables", key));
  for (const toml::node& item : *array) {
    if (!item.is_table()) return invalid(fmt::format("'{}' must be an array of tables", key));
    out.push_back(item.as_table());
  }
  return out;
}

// The [evidence] table: quantities in nats, counts as integers.
Result<evidence::EvidenceConfig> evidence_config(const toml::table& root) {
  evidence::EvidenceConfig c;
  const toml::node* node = root.get("evidence");
  if (node == nullptr) return c;
  const toml::table* t = node->as_table();
  if (t == nullptr) return invalid("'evidence' must be a table");
  const auto nats_or = [&](std::string_view key,
                           evidence::Units fallback) -> Result<evidence::Units> {
    PHALANX_ASSIGN_OR_RETURN(const double n,
                             tf::number_or(*t, key, "evidence", evidence::to_nats(fallback)));
    if (n < -1e3 || n > 1e3)
      return invalid(fmt::format("evidence: {} must be within ±1000 nats", key));
    return evidence::nats(n);
  };
  const auto count_or = [&](std::string_view key, std::uint32_t fallback) -> Result<std::uint32_t> {
    PHALANX_ASSIGN_OR_RETURN(const std::int64_t v,
                             tf::integer_or(*t, key, "evidence", 0, UINT32_MAX, fallback));
    return static_cast<std::uint32_t>(v);
  };
  PHALANX_ASSIGN_OR_RETURN(c.resolution, nats_or("resolution", c.resolution));
  PHALANX_ASSIGN_OR_RETURN(c.ratio_bound, nats_or("ratio_bound", c.ratio_bound));
  PHALANX_ASSIGN_OR_RETURN(c.source_clip, nats_or("source_clip", c.source_clip));
  PHALANX_ASSIGN_OR_RETURN(c.prior, nats_or("prior", c.prior));
  PHALANX_ASSIGN_OR_RETURN(c.trim, count_or("trim", c.trim));
  PHALANX_ASSIGN_OR_RETURN(c.min_sources, count_or("min_sources", c.min_sources));
  PHALANX_ASSIGN_OR_RETURN(c.items_per_block, count_or("items_per_block", c.items_per_block));
  PHALANX_ASSIGN_OR_RETURN(c.hypotheses_max, count_or("hypotheses_max", c.hypotheses_max));
  PHALANX_ASSIGN_OR_RETURN(c.weighted, tf::boolean_or(*t, "weighted", "evidence", c.weighted));
  if (Status valid = c.validate(); !valid) return invalid(valid.error().message());
  return c;
}

}  // namespace

std::string_view app_name(App app) {
  switch (app) {
    case App::kKv: return "kv";
    case App::kEvidence: return "evidence";
  }
  return "unknown-app";
}

std::string_view mode_name(FaultModel mode) {
  switch (mode) {
    case FaultModel::kCrash: return "crash";
    case FaultModel::kByzantine: return "byzantine";
  }
  return "unknown-mode";
}

Result<consensus::Quorum> Manifest::quorum_rule() const {
  const auto n = static_cast<std::uint32_t>(replicas.size());
  if (mode == FaultModel::kByzantine) return consensus::Quorum::byzantine_exact(n, quorum);
  PHALANX_ASSIGN_OR_RETURN(consensus::Quorum q, consensus::Quorum::crash(n));
  if (q.size() != quorum) {
    return invalid(
        fmt::format("crash mode with {} replicas has quorum {}, not {}", n, q.size(), quorum));
  }
  return q;
}

Result<security::TrustRegistry> Manifest::registry() const {
  security::TrustRegistry registry;
  for (const ReplicaEntry& r : replicas) {
    PHALANX_TRY(registry.add({Principal::replica(r.id), r.public_key, Role::kReplica}));
  }
  for (const ClientEntry& c : clients) {
    if (c.revoked) continue;
    PHALANX_TRY(registry.add({Principal::client(c.id), c.public_key, c.role}));
  }
  return registry;
}

net::Pins Manifest::pins() const {
  net::Pins pins;
  for (const ReplicaEntry& r : replicas) pins.emplace(r.tls_fingerprint, Principal::replica(r.id));
  for (const ClientEntry& c : clients) {
    if (!c.revoked) pins.emplace(c.tls_fingerprint, Principal::client(c.id));
  }
  return pins;
}

std::vector<NodeId> Manifest::replica_ids() const {
  std::vector<NodeId> ids;
  for (const ReplicaEntry& r : replicas) ids.push_back(r.id);
  return ids;
}

const ReplicaEntry* Manifest::replica(NodeId id) const {
  for (const ReplicaEntry& r : replicas) {
    if (r.id == id) return &r;
  }
  return nullptr;
}

std::string Manifest::to_toml() const {
  toml::table root{{"cluster", to_hex(cluster.view())},
                   {"mode", std::string(mode_name(mode))},
                   {"epoch", static_cast<std::int64_t>(epoch.value())},
                   {"quorum", static_cast<std::int64_t>(quorum)}};
  toml::array replica_tables;
  for (const ReplicaEntry& r : replicas) {
    replica_tables.push_back(
        toml::table{{"id", static_cast<std::int64_t>(r.id.value())},
                    {"host", r.host},
                    {"port", static_cast<std::int64_t>(r.port)},
                    {"public_key", to_hex(r.public_key.view())},
                    {"tls_fingerprint", net::fingerprint_text(r.tls_fingerprint)}});
  }
  root.insert("replica", std::move(replica_tables));
  toml::array client_tables;
  for (const ClientEntry& c : clients) {
    client_tables.push_back(
        toml::table{{"id", static_cast<std::int64_t>(c.id.value())},
                    {"role", std::string(role_name(c.role))},
                    {"public_key", to_hex(c.public_key.view())},
                    {"tls_fingerprint", net::fingerprint_text(c.tls_fingerprint)},
                    {"revoked", c.revoked}});
  }
  root.insert("client", std::move(client_tables));
  if (app == App::kEvidence) {
    root.insert("app", std::string(app_name(app)));
    root.insert(
        "evidence",
        toml::table{{"resolution", evidence::to_nats(evidence.resolution)},
                    {"ratio_bound", evidence::to_nats(evidence.ratio_bound)},
                    {"source_clip", evidence::to_nats(evidence.source_clip)},
                    {"prior", evidence::to_nats(evidence.prior)},
                    {"trim", static_cast<std::int64_t>(evidence.trim)},
                    {"min_sources", static_cast<std::int64_t>(evidence.min_sources)},
                    {"items_per_block", static_cast<std::int64_t>(evidence.items_per_block)},
                    {"hypotheses_max", static_cast<std::int64_t>(evidence.hypotheses_max)},
                    {"weighted", evidence.weighted}});
  }
  return "# Phalanx cluster manifest: the trust registry every replica and client reads.\n"
         "# Written by `phalanx cluster init`; see docs/operations.md before editing.\n\n" +
         tf::to_text(root);
}

Result<Manifest> Manifest::parse(std::string_view text) {
  PHALANX_ASSIGN_OR_RETURN(toml::table root, tf::parse(text, "manifest"));
  Manifest m;
  PHALANX_ASSIGN_OR_RETURN(std::string cluster_hex, tf::string(root, "cluster", "manifest"));
  std::optional<Bytes> cluster_raw = from_hex(cluster_hex);
  std::optional<ClusterId> cluster;
  if (cluster_raw) cluster = ClusterId::from(*cluster_raw);
  if (!cluster) return invalid("'cluster' must be 32 hex digits");
  m.cluster = *cluster;
  PHALANX_ASSIGN_OR_RETURN(std::string mode, tf::string(root, "mode", "manifest"));
  if (mode == "crash") {
    m.mode = FaultModel::kCrash;
  } else if (mode == "byzantine") {
    m.mode = FaultModel::kByzantine;
  } else {
    return invalid(fmt::format("mode '{}' is not crash or byzantine", mode));
  }
  PHALANX_ASSIGN_OR_RETURN(std::int64_t epoch,
                           tf::integer(root, "epoch", "manifest", 1, INT64_MAX));
  m.epoch = Epoch{static_cast<std::uint64_t>(epoch)};
  PHALANX_ASSIGN_OR_RETURN(std::int64_t quorum, tf::integer(root, "quorum", "manifest", 1,
                                                            consensus::Quorum::kReplicasMax));
  m.quorum = static_cast<std::uint32_t>(quorum);

  std::set<std::string> endpoints;
  std::set<net::Fingerprint> fingerprints;
  PHALANX_ASSIGN_OR_RETURN(auto replica_tables, tables(root, "replica"));
  for (const toml::table* t : replica_tables) {
    ReplicaEntry r;
    PHALANX_ASSIGN_OR_RETURN(std::int64_t id, tf::integer(*t, "id", "replica", 1, INT64_MAX));
    r.id = NodeId{static_cast<std::uint64_t>(id)};
    const std::string where = fmt::format("replica {}", id);
    PHALANX_ASSIGN_OR_RETURN(r.host, tf::string(*t, "host", where));
    PHALANX_ASSIGN_OR_RETURN(std::int64_t port, tf::integer(*t, "port", where, 1, 65535));
    r.port = static_cast<std::uint16_t>(port);
    PHALANX_ASSIGN_OR_RETURN(r.public_key, public_key(*t, where));
    PHALANX_ASSIGN_OR_RETURN(r.tls_fingerprint, fingerprint(*t, where));
    if (!m.replicas.empty() && m.replicas.back().id >= r.id) {
      return invalid("replica ids must be unique and ascending");
    }
    if (!endpoints.insert(fmt::format("{}:{}", r.host, r.port)).second) {
      return invalid(fmt::format("{}: {}:{} is another replica's address", where, r.host, r.port));
    }
    if (!fingerprints.insert(r.tls_fingerprint).second) {
      return invalid(fmt::format("{}: its TLS certificate is pinned twice", where));
    }
    m.replicas.push_back(std::move(r));
  }
  PHALANX_ASSIGN_OR_RETURN(auto client_tables, tables(root, "client"));
  for (const toml::table* t : client_tables) {
    ClientEntry c;
    PHALANX_ASSIGN_OR_RETURN(std::int64_t id, tf::integer(*t, "id", "client", 1, INT64_MAX));
    c.id = ClientId{static_cast<std::uint64_t>(id)};
    const std::string where = fmt::format("client {}", id);
    PHALANX_ASSIGN_OR_RETURN(std::string role, tf::string_or(*t, "role", where, "client"));
    PHALANX_ASSIGN_OR_RETURN(c.role, parse_role(role, where));
    PHALANX_ASSIGN_OR_RETURN(c.public_key, public_key(*t, where));
    PHALANX_ASSIGN_OR_RETURN(c.tls_fingerprint, fingerprint(*t, where));
    PHALANX_ASSIGN_OR_RETURN(c.revoked, tf::boolean_or(*t, "revoked", where, false));
    if (!m.clients.empty() && m.clients.back().id >= c.id) {
      return invalid("client ids must be unique and ascending");
    }
    if (!fingerprints.insert(c.tls_fingerprint).second) {
      return invalid(fmt::format("{}: its TLS certificate is pinned twice", where));
    }
    m.clients.push_back(std::move(c));
  }
  PHALANX_ASSIGN_OR_RETURN(std::string app, tf::string_or(root, "app", "manifest", "kv"));
  if (app == "evidence") {
    m.app = App::kEvidence;
  } else if (app != "kv") {
    return invalid(fmt::format("app '{}' is not kv or evidence", app));
  }
  if (m.app == App::kEvidence && m.mode != FaultModel::kByzantine) {
    return invalid("the evidence service runs in byzantine mode only");
  }
  PHALANX_ASSIGN_OR_RETURN(m.evidence, evidence_config(root));
  PHALANX_TRY(m.quorum_rule());
  PHALANX_TRY(m.registry());  // keys unique across principals
  return m;
}

}  // namespace phalanx::cluster
