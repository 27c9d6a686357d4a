#include "cluster/node_config.h"

#include <charconv>
#include <filesystem>
#include <span>

#include "cluster/toml_fields.h"

namespace phalanx::cluster {
namespace {

namespace tf = toml_fields;
constexpr std::string_view kWhere = "node config";

std::string resolve(std::string_view base_dir, const std::string& path) {
  const std::filesystem::path p(path);
  if (p.is_absolute()) return p.lexically_normal().string();
  return (std::filesystem::path(base_dir) / p).lexically_normal().string();
}

std::string relative(std::string_view base_dir, const std::string& path) {
  const std::filesystem::path rel =
      std::filesystem::path(path).lexically_relative(std::filesystem::path(base_dir));
  return rel.empty() ? path : rel.string();
}

Result<std::optional<Endpoint>> endpoint_or_none(const toml::table& t, std::string_view key) {
  if (!t.contains(key)) return std::optional<Endpoint>{};
  PHALANX_ASSIGN_OR_RETURN(std::string text, tf::string(t, key, kWhere));
  PHALANX_ASSIGN_OR_RETURN(Endpoint e, Endpoint::parse(text));
  return std::optional<Endpoint>(std::move(e));
}

// Every [limits] key, its field and the values it may take.
struct LimitField {
  const char* key;
  std::uint64_t NodeLimits::*field;
  std::int64_t min;
  std::int64_t max;
};

std::span<const LimitField> limit_fields() {
  constexpr std::int64_t kRateMax = 1'000'000'000;
  constexpr std::int64_t kCountMax = 65'536;
  constexpr std::int64_t kMsMax = 86'400'000;  // a day
  static constexpr LimitField kFields[] = {
      {"client_requests_per_second", &NodeLimits::client_requests_per_second, 1, kRateMax},
      {"client_burst", &NodeLimits::client_burst, 1, kRateMax},
      {"peer_frames_per_second", &NodeLimits::peer_frames_per_second, 1, kRateMax},
      {"peer_burst", &NodeLimits::peer_burst, 1, kRateMax},
      {"connections_max", &NodeLimits::connections_max, 1, kCountMax},
      {"connections_per_principal_max", &NodeLimits::connections_per_principal_max, 1, kCountMax},
      {"handshakes_max", &NodeLimits::handshakes_max, 1, kCountMax},
      {"handshakes_per_address_max", &NodeLimits::handshakes_per_address_max, 1, kCountMax},
      {"handshake_timeout_ms", &NodeLimits::handshake_timeout_ms, 100, 60'000},
      {"client_idle_timeout_ms", &NodeLimits::client_idle_timeout_ms, 0, kMsMax},
      {"frame_timeout_ms", &NodeLimits::frame_timeout_ms, 100, 600'000},
  };
  return kFields;
}

}  // namespace

std::string Endpoint::to_string() const { return fmt::format("{}:{}", host, port); }

Result<Endpoint> Endpoint::parse(std::string_view text) {
  const std::size_t colon = text.rfind(':');
  unsigned port = 0;
  if (colon != std::string_view::npos && colon > 0) {
    const std::string_view digits = text.substr(colon + 1);
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
    if (ec == std::errc() && end == digits.data() + digits.size() && port >= 1 && port <= 65535) {
      return Endpoint{std::string(text.substr(0, colon)), static_cast<std::uint16_t>(port)};
    }
  }
  return fail(ErrorCode::kInvalidArgument,
              fmt::format("'{}' is not an address of the form host:port (port 1 to 65535)", text));
}

std::string NodeConfig::to_toml(std::string_view base_dir) const {
  toml::table root{{"id", static_cast<std::int64_t>(id.value())},
                   {"manifest", relative(base_dir, manifest)},
                   {"data_dir", relative(base_dir, data_dir)},
                   {"identity_key", relative(base_dir, identity_key)},
                   {"tls_key", relative(base_dir, tls_key)},
                   {"tls_certificate", relative(base_dir, tls_certificate)},
                   {"tick_ms", static_cast<std::int64_t>(tick_ms)}};
  if (verify_threads) root.insert("verify_threads", static_cast<std::int64_t>(*verify_threads));
  if (!group_commit) root.insert("group_commit", false);
  if (!background_sync) root.insert("background_sync", false);
  if (snapshot_every != NodeConfig{}.snapshot_every) {
    root.insert("snapshot_every", static_cast<std::int64_t>(snapshot_every));
  }
  if (listen) root.insert("listen", listen->to_string());
  if (admin) root.insert("admin", admin->to_string());
  toml::table limit_table;
  for (const LimitField& f : limit_fields()) {
    limit_table.insert(f.key, static_cast<std::int64_t>(limits.*f.field));
  }
  root.insert("limits", std::move(limit_table));
  return "# One Phalanx replica: `phalanx node --config THIS_FILE` (docs/operations.md).\n\n" +
         tf::to_text(root);
}

Result<NodeConfig> NodeConfig::parse(std::string_view text, std::string_view base_dir) {
  PHALANX_ASSIGN_OR_RETURN(toml::table root, tf::parse(text, kWhere));
  NodeConfig c;
  PHALANX_ASSIGN_OR_RETURN(std::int64_t id, tf::integer(root, "id", kWhere, 1, INT64_MAX));
  c.id = NodeId{static_cast<std::uint64_t>(id)};
  for (auto [key, field] : {std::pair{"manifest", &c.manifest},
                            {"data_dir", &c.data_dir},
                            {"identity_key", &c.identity_key},
                            {"tls_key", &c.tls_key},
                            {"tls_certificate", &c.tls_certificate}}) {
    PHALANX_ASSIGN_OR_RETURN(std::string path, tf::string(root, key, kWhere));
    *field = resolve(base_dir, path);
  }
  PHALANX_ASSIGN_OR_RETURN(c.listen, endpoint_or_none(root, "listen"));
  PHALANX_ASSIGN_OR_RETURN(c.admin, endpoint_or_none(root, "admin"));
  PHALANX_ASSIGN_OR_RETURN(std::int64_t tick, tf::integer_or(root, "tick_ms", kWhere, 1, 1000, 10));
  c.tick_ms = static_cast<std::uint32_t>(tick);
  if (root.contains("verify_threads")) {
    PHALANX_ASSIGN_OR_RETURN(std::int64_t threads,
                             tf::integer(root, "verify_threads", kWhere, 0, 64));
    c.verify_threads = static_cast<std::uint32_t>(threads);
  }
  PHALANX_ASSIGN_OR_RETURN(c.group_commit, tf::boolean_or(root, "group_commit", kWhere, true));
  PHALANX_ASSIGN_OR_RETURN(c.background_sync,
                           tf::boolean_or(root, "background_sync", kWhere, true));
  PHALANX_ASSIGN_OR_RETURN(std::int64_t every,
                           tf::integer_or(root, "snapshot_every", kWhere, 1, 1'000'000'000,
                                          static_cast<std::int64_t>(NodeConfig{}.snapshot_every)));
  c.snapshot_every = static_cast<std::uint64_t>(every);
  if (const toml::table* limits = root["limits"].as_table()) {
    for (const LimitField& f : limit_fields()) {
      PHALANX_ASSIGN_OR_RETURN(std::int64_t v,
                               tf::integer_or(*limits, f.key, kWhere, f.min, f.max,
                                              static_cast<std::int64_t>(c.limits.*f.field)));
      c.limits.*f.field = static_cast<std::uint64_t>(v);
    }
  }
  return c;
}

}  // namespace phalanx::cluster
