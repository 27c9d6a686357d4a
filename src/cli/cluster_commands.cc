// phalanx cluster init | up | down, phalanx node, phalanx status
#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <sodium.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <asio/connect.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/read.hpp>
#include <asio/steady_timer.hpp>
#include <asio/write.hpp>
#include <charconv>
#include <chrono>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>

#include "cli/commands.h"
#include "cli/layout.h"
#include "cluster/manifest.h"
#include "cluster/node_config.h"
#include "node/node.h"
#include "storage/key_file.h"

namespace phalanx::cli {
namespace {

namespace fs = std::filesystem;
using consensus::FaultModel;

constexpr auto kStartWait = std::chrono::seconds(15);
constexpr auto kStopWait = std::chrono::seconds(15);

struct InitOptions {
  std::string mode = "crash";
  std::uint32_t replicas = 3;
  std::optional<double> quorum_ratio;
  std::uint16_t base_port = 7001;
  std::optional<std::uint16_t> admin_base_port;
  std::string host = "127.0.0.1";
  std::uint32_t clients = 1;
  std::string app = "kv";
  std::uint32_t sources = 0;  // evidence-source identities, after the clients
  std::uint32_t admins = 0;   // administrator identities, after the sources
  fs::path dir;
};

// Writes a principal's Ed25519 key pair and TLS identity into `dir`.
Result<std::pair<crypto::PublicKey, net::Fingerprint>> write_identity(const fs::path& dir,
                                                                      std::string_view key_name,
                                                                      std::string_view cn) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return fail(ErrorCode::kIo, fmt::format("create {}: {}", dir.string(), ec.message()));
  fs::permissions(dir, fs::perms::owner_all, ec);
  crypto::KeyPair key = crypto::KeyPair::generate();
  PHALANX_TRY(storage::write_secret_key_file(dir / (std::string(key_name) + ".key"), key));
  PHALANX_TRY(
      storage::write_public_key_file(dir / (std::string(key_name) + ".pub"), key.public_key()));
  PHALANX_ASSIGN_OR_RETURN(net::TlsIdentity tls, net::generate_tls_identity(cn));
  PHALANX_TRY(storage::write_secret_text_file(dir / "tls.key", tls.private_key_pem));
  PHALANX_TRY(storage::write_public_text_file(dir / "tls.crt", tls.certificate_pem));
  PHALANX_ASSIGN_OR_RETURN(net::Fingerprint fp, net::certificate_fingerprint(tls.certificate_pem));
  return std::pair{key.public_key(), fp};
}

Result<consensus::Quorum> quorum_for(const InitOptions& o) {
  if (o.mode == "crash") {
    if (o.quorum_ratio) {
      return fail(ErrorCode::kInvalidArgument,
                  "--quorum-ratio is for byzantine mode; crash mode's quorum is a majority");
    }
    return consensus::Quorum::crash(o.replicas);
  }
  if (o.mode == "byzantine") return consensus::Quorum::byzantine(o.replicas, o.quorum_ratio);
  return fail(ErrorCode::kInvalidArgument,
              fmt::format("--mode {}: choose crash or byzantine", o.mode));
}

int run_init(const InitOptions& o) {
  Result<consensus::Quorum> quorum = quorum_for(o);
  if (!quorum) return report(quorum.error());
  if (o.app == "evidence" && o.mode != "byzantine") {
    return report(Error(ErrorCode::kInvalidArgument,
                        "--app evidence runs on the byzantine log: add --mode byzantine"));
  }
  // Not value_or: that would narrow base-port + 100 back to 16 bits.
  const std::uint32_t admin_base =
      o.admin_base_port ? std::uint32_t{*o.admin_base_port} : o.base_port + 100u;
  if (o.base_port + o.replicas > 65536 || admin_base + o.replicas > 65536) {
    return report(Error(ErrorCode::kInvalidArgument, "the ports run past 65535"));
  }
  std::error_code ec;
  if (fs::exists(o.dir, ec) && !fs::is_empty(o.dir, ec)) {
    return report(Error(
        ErrorCode::kInvalidArgument,
        fmt::format("{} is not empty; refusing to overwrite a cluster's keys", o.dir.string())));
  }
  const fs::path dir = fs::absolute(o.dir).lexically_normal();
  cluster::Manifest m;
  std::array<std::uint8_t, ClusterId::kSize> cluster_id{};
  randombytes_buf(cluster_id.data(), cluster_id.size());
  m.cluster = ClusterId(cluster_id);
  if (o.app == "evidence") {
    // t, the sources trimmed at each end, defaults to f, the liars the
    // replicas tolerate; a posterior needs 2t+1 distinct sources.
    m.app = cluster::App::kEvidence;
    m.evidence.trim = quorum->safety_tolerance();
    m.evidence.min_sources = 2 * m.evidence.trim + 1;
  }
  m.mode = o.mode == "crash" ? FaultModel::kCrash : FaultModel::kByzantine;
  m.quorum = quorum->size();
  for (std::uint32_t i = 1; i <= o.replicas; ++i) {
    const NodeId id{i};
    auto made = write_identity(layout::replica_dir(dir, id), "node", fmt::format("replica-{}", i));
    if (!made) return report(made.error());
    m.replicas.push_back(
        {id, o.host, static_cast<std::uint16_t>(o.base_port + i - 1), made->first, made->second});
    cluster::NodeConfig c;
    c.id = id;
    const fs::path rdir = layout::replica_dir(dir, id);
    c.manifest = layout::manifest(dir).string();
    c.data_dir = (rdir / "data").string();
    c.identity_key = (rdir / "node.key").string();
    c.tls_key = (rdir / "tls.key").string();
    c.tls_certificate = (rdir / "tls.crt").string();
    c.admin = cluster::Endpoint{"127.0.0.1", static_cast<std::uint16_t>(admin_base + i - 1)};
    std::ofstream(layout::config(dir, id)) << c.to_toml(rdir.string());
  }
  const std::uint32_t identities = o.clients + o.sources + o.admins;
  for (std::uint32_t i = 1; i <= identities; ++i) {
    const ClientId id{i};
    const Role role = i <= o.clients               ? Role::kClient
                      : i <= o.clients + o.sources ? Role::kEvidenceSource
                                                   : Role::kAdmin;
    auto made = write_identity(layout::client_dir(dir, id), "client", fmt::format("client-{}", i));
    if (!made) return report(made.error());
    m.clients.push_back({id, role, made->first, made->second, false});
  }
  std::ofstream(layout::manifest(dir)) << m.to_toml();
  fmt::print("cluster {} in {} ({} mode)\n", to_hex(m.cluster.view()), dir.string(), o.mode);
  if (m.mode == FaultModel::kByzantine) {
    fmt::print("  {}\n", quorum->describe());
  } else {
    fmt::print("  n {}, q {}: live with up to {} crashed replica{}\n", quorum->replicas(),
               quorum->size(), quorum->liveness_tolerance(),
               quorum->liveness_tolerance() == 1 ? "" : "s");
  }
  for (const cluster::ReplicaEntry& r : m.replicas) {
    fmt::print("  replica {}: {}:{}  admin http://127.0.0.1:{}  {}\n", r.id.value(), r.host, r.port,
               admin_base + r.id.value() - 1, layout::config(dir, r.id).string());
  }
  for (const cluster::ClientEntry& c : m.clients) {
    fmt::print("  client {} ({}): {}\n", c.id.value(), role_name(c.role),
               layout::client_dir(dir, c.id).string());
  }
  if (m.app == cluster::App::kEvidence) {
    fmt::print("  evidence service: trim t = {}, a posterior needs {} distinct sources\n",
               m.evidence.trim, m.evidence.min_sources);
  }
  fmt::print("start it: phalanx cluster up --dir {}\n", o.dir.string());
  return kExitOk;
}

Result<cluster::Manifest> load_manifest(const fs::path& path) {
  PHALANX_ASSIGN_OR_RETURN(std::string text,
                           storage::read_public_text_file(path, cluster::kManifestBytesMax));
  Result<cluster::Manifest> m = cluster::Manifest::parse(text);
  if (!m) return Unexpected(std::move(m).error().with_context(path.string()));
  return m;
}

Result<cluster::NodeConfig> load_config(const fs::path& path) {
  std::ifstream in(path);
  if (!in) return fail(ErrorCode::kNotFound, fmt::format("{}: cannot read", path.string()));
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  Result<cluster::NodeConfig> c =
      cluster::NodeConfig::parse(text, fs::absolute(path).parent_path().string());
  if (!c) return Unexpected(std::move(c).error().with_context(path.string()));
  return c;
}

int run_node(const fs::path& config_path) {
  Result<cluster::NodeConfig> config = load_config(config_path);
  if (!config) return report(config.error());
  auto logger = spdlog::stderr_logger_mt("node");
  logger->set_pattern(fmt::format("%Y-%m-%dT%H:%M:%S.%e replica-{} %l %v", config->id.value()));
  node::Node::Log log = [logger](std::string_view level, std::string_view message) {
    logger->log(spdlog::level::from_str(std::string(level)), "{}", message);
    logger->flush();
  };
  Result<std::unique_ptr<node::Node>> node = node::Node::open(*config, log);
  if (!node) {
    log("error", node.error().to_string());
    return report(node.error());
  }
  if (Status s = (*node)->run(); !s) {
    log("error", s.error().to_string());
    return report(s.error());
  }
  log("info", "stopped");
  return kExitOk;
}

// The pid a pid file names, if that process is alive and is this replica's node.
std::optional<pid_t> running_pid(const fs::path& dir, NodeId id) {
  std::ifstream in(layout::pid_file(dir, id));
  long pid = 0;
  if (!(in >> pid) || pid <= 0) return std::nullopt;
  if (::kill(static_cast<pid_t>(pid), 0) != 0) return std::nullopt;
  std::ifstream cmdline(fmt::format("/proc/{}/cmdline", pid));
  const std::string args((std::istreambuf_iterator<char>(cmdline)),
                         std::istreambuf_iterator<char>());
  if (args.find(layout::config(dir, id).string()) == std::string::npos) return std::nullopt;
  std::ifstream stat(fmt::format("/proc/{}/stat", pid));
  std::string stat_text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  const std::size_t paren = stat_text.rfind(')');
  if (paren != std::string::npos && stat_text.size() > paren + 2 && stat_text[paren + 2] == 'Z') {
    return std::nullopt;  // a zombie: exited, not yet reaped
  }
  return static_cast<pid_t>(pid);
}

// Starts `phalanx node` for one replica in the background, its output in node.log.
Result<pid_t> spawn_node(const fs::path& dir, NodeId id) {
  const fs::path self = fs::read_symlink("/proc/self/exe");
  const std::string config = layout::config(dir, id).string();
  const std::string log = layout::log_file(dir, id).string();
  const pid_t pid = ::fork();
  if (pid < 0) return fail(ErrorCode::kIo, fmt::format("fork: {}", std::strerror(errno)));
  if (pid == 0) {
    ::setsid();
    const int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    const int log_fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (null_fd < 0 || log_fd < 0) ::_exit(127);
    ::dup2(null_fd, STDIN_FILENO);
    ::dup2(log_fd, STDOUT_FILENO);
    ::dup2(log_fd, STDERR_FILENO);
    ::execl(self.c_str(), "phalanx", "node", "--config", config.c_str(), nullptr);
    ::_exit(127);
  }
  std::ofstream(layout::pid_file(dir, id)) << pid << '\n';
  return pid;
}

using HttpAnswer = std::optional<std::pair<int, std::string>>;

// One GET in flight: connect, write the request, read until the server closes.
struct HttpGet {
  explicit HttpGet(asio::io_context& io) : socket(io) {}
  asio::ip::tcp::socket socket;
  std::string request;
  std::string response;
  bool done = false;
};

// GET http://host:port/path on every endpoint at once, all within `limit`:
// a replica that is paused (it accepts the connection but never answers)
// costs the limit once, not once per replica. nullopt for each endpoint
// that did not answer in time.
std::vector<HttpAnswer> http_get_all(const std::vector<cluster::Endpoint>& at,
                                     std::string_view path,
                                     std::chrono::milliseconds limit = std::chrono::seconds(2)) {
  asio::io_context io;
  std::vector<std::unique_ptr<HttpGet>> gets;
  for (const cluster::Endpoint& e : at) {
    auto get = std::make_unique<HttpGet>(io);
    get->request =
        fmt::format("GET {} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n", path, e.host);
    HttpGet* g = get.get();
    asio::error_code bad;
    const asio::ip::address address = asio::ip::make_address(e.host, bad);
    if (!bad) {
      g->socket.async_connect({address, e.port}, [g](const asio::error_code& ec) {
        if (ec) return;
        asio::async_write(g->socket, asio::buffer(g->request),
                          [g](const asio::error_code& wec, std::size_t) {
                            if (wec) return;
                            asio::async_read(g->socket, asio::dynamic_buffer(g->response, 1 << 20),
                                             [g](const asio::error_code&, std::size_t) {
                                               g->done = true;  // EOF: the whole answer
                                             });
                          });
      });
    }
    gets.push_back(std::move(get));
  }
  asio::steady_timer deadline(io, limit);
  deadline.async_wait([&gets](const asio::error_code&) {
    for (auto& g : gets) {
      asio::error_code ignored;
      g->socket.close(ignored);
    }
  });
  io.run_for(limit + std::chrono::milliseconds(500));
  std::vector<HttpAnswer> out;
  for (const auto& g : gets) {
    const std::size_t body = g->response.find("\r\n\r\n");
    if (!g->done || !g->response.starts_with("HTTP/1.1 ") || body == std::string::npos) {
      out.emplace_back();
      continue;
    }
    int code = 0;
    std::from_chars(g->response.data() + 9, g->response.data() + 12, code);
    out.emplace_back(std::pair{code, g->response.substr(body + 4)});
  }
  return out;
}

HttpAnswer http_get(const cluster::Endpoint& at, std::string_view path) {
  return http_get_all({at}, path).front();
}

struct ReplicaTarget {
  NodeId id;
  cluster::NodeConfig config;
};

// The replicas of the cluster in `dir` (one if `only` is set).
Result<std::vector<ReplicaTarget>> targets(const fs::path& dir, std::optional<std::uint64_t> only) {
  PHALANX_ASSIGN_OR_RETURN(cluster::Manifest m, load_manifest(layout::manifest(dir)));
  std::vector<ReplicaTarget> out;
  for (const cluster::ReplicaEntry& r : m.replicas) {
    if (only && r.id.value() != *only) continue;
    PHALANX_ASSIGN_OR_RETURN(cluster::NodeConfig c, load_config(layout::config(dir, r.id)));
    out.push_back({r.id, std::move(c)});
  }
  if (out.empty()) {
    return fail(ErrorCode::kNotFound, fmt::format("replica {} is not in the cluster", *only));
  }
  return out;
}

int run_up(const fs::path& dir_arg, std::optional<std::uint64_t> only) {
  const fs::path dir = fs::absolute(dir_arg).lexically_normal();
  Result<std::vector<ReplicaTarget>> replicas = targets(dir, only);
  if (!replicas) return report(replicas.error());
  std::map<NodeId, pid_t> started;
  for (const ReplicaTarget& r : *replicas) {
    if (std::optional<pid_t> pid = running_pid(dir, r.id)) {
      fmt::print("replica {}: already running (pid {})\n", r.id.value(), *pid);
      continue;
    }
    Result<pid_t> pid = spawn_node(dir, r.id);
    if (!pid) return report(pid.error());
    started[r.id] = *pid;
    fmt::print("replica {}: started (pid {}, log {})\n", r.id.value(), *pid,
               layout::log_file(dir, r.id).string());
  }
  // Healthy means the admin listener answers: the data directory was recovered and the ports bound.
  const auto deadline = std::chrono::steady_clock::now() + kStartWait;
  int failed = 0;
  for (const ReplicaTarget& r : *replicas) {
    if (!r.config.admin) continue;
    bool healthy = false;
    while (!healthy && std::chrono::steady_clock::now() < deadline) {
      auto answer = http_get(*r.config.admin, "/health");
      healthy = answer && answer->first == 200;
      // A replica that exits (it refused its data directory, a port was taken) is not waited for.
      const auto child = started.find(r.id);
      if (!healthy && child != started.end() && ::waitpid(child->second, nullptr, WNOHANG) != 0) {
        break;
      }
      if (!healthy) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    if (!healthy) {
      ++failed;
      fmt::print(stderr, "replica {}: not healthy; see {}\n", r.id.value(),
                 layout::log_file(dir, r.id).string());
    }
  }
  return failed == 0 ? kExitOk : kExitError;
}

int run_down(const fs::path& dir_arg, std::optional<std::uint64_t> only, bool kill) {
  const fs::path dir = fs::absolute(dir_arg).lexically_normal();
  Result<std::vector<ReplicaTarget>> replicas = targets(dir, only);
  if (!replicas) return report(replicas.error());
  std::vector<std::pair<NodeId, pid_t>> stopping;
  for (const ReplicaTarget& r : *replicas) {
    std::optional<pid_t> pid = running_pid(dir, r.id);
    if (!pid) {
      fmt::print("replica {}: not running\n", r.id.value());
      fs::remove(layout::pid_file(dir, r.id));
      continue;
    }
    ::kill(*pid, kill ? SIGKILL : SIGTERM);
    stopping.emplace_back(r.id, *pid);
  }
  const auto deadline = std::chrono::steady_clock::now() + kStopWait;
  int failed = 0;
  for (const auto& [id, pid] : stopping) {
    while (running_pid(dir, id) && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    if (running_pid(dir, id)) {
      ::kill(pid, SIGKILL);
      fmt::print(stderr, "replica {}: did not stop in time; killed (pid {})\n", id.value(), pid);
      ++failed;
    } else {
      fmt::print("replica {}: {} (pid {})\n", id.value(), kill ? "killed" : "stopped", pid);
    }
    fs::remove(layout::pid_file(dir, id));
  }
  return failed == 0 ? kExitOk : kExitError;
}

int run_status(const fs::path& dir, bool json) {
  Result<cluster::Manifest> m = load_manifest(layout::manifest(dir));
  if (!m) return report(m.error());
  Result<std::vector<ReplicaTarget>> replicas = targets(dir, std::nullopt);
  if (!replicas) return report(replicas.error());
  const consensus::Quorum quorum = *m->quorum_rule();
  if (!json) {
    fmt::print("cluster {} ({} mode): {}\n", to_hex(m->cluster.view()), cluster::mode_name(m->mode),
               quorum.describe());
    fmt::print("{:>7}  {:<9} {:>8} {:>6} {:>9} {:>9} {:>5} {:>6}  {:<9} {}\n", "replica", "role",
               m->mode == FaultModel::kCrash ? "term" : "round", "leader", "commit", "applied",
               "lag", "peers", "evidence", "rejected");
  }
  std::vector<nlohmann::json> rows;
  std::uint64_t top = 0;
  std::vector<cluster::Endpoint> admins;
  for (const ReplicaTarget& r : *replicas) {
    if (r.config.admin) admins.push_back(*r.config.admin);
  }
  std::vector<HttpAnswer> answers = http_get_all(admins, "/status");
  std::size_t next_answer = 0;
  for (const ReplicaTarget& r : *replicas) {
    HttpAnswer answer;
    if (r.config.admin) answer = std::move(answers[next_answer++]);
    nlohmann::json row = nlohmann::json::object();
    if (answer && answer->first == 200) {
      row = nlohmann::json::parse(answer->second, nullptr, false);
      if (row.is_discarded()) row = nlohmann::json::object();
    }
    row["id"] = r.id.value();
    if (row.contains("applied")) top = std::max(top, row["applied"].get<std::uint64_t>());
    rows.push_back(std::move(row));
  }
  int down = 0;
  for (nlohmann::json& row : rows) {
    if (!row.contains("applied")) {
      ++down;
      row["up"] = false;
      if (!json) {
        fmt::print("{:>7}  {}\n", row["id"].get<std::uint64_t>(),
                   "unreachable (no answer within 2 s: down, paused or cut off)");
      }
      continue;
    }
    row["up"] = true;
    row["lag"] = top - row["applied"].get<std::uint64_t>();
    if (json) continue;
    std::string rejected;
    for (const auto& [kind, n] : row["rejected"].items()) {
      rejected += fmt::format("{}{}={}", rejected.empty() ? "" : " ", kind, n.get<std::uint64_t>());
    }
    fmt::print(
        "{:>7}  {:<9} {:>8} {:>6} {:>9} {:>9} {:>5} {:>6}  {:<9} {}\n",
        row["id"].get<std::uint64_t>(), row["role"].get<std::string>(),
        row["term"].get<std::uint64_t>(),
        row["leader"].is_null() ? "-" : std::to_string(row["leader"].get<std::uint64_t>()),
        row["commit"].get<std::uint64_t>(), row["applied"].get<std::uint64_t>(),
        row["lag"].get<std::uint64_t>(),
        fmt::format("{}/{}", row["peers_connected"].get<std::uint64_t>(),
                    row["peers_total"].get<std::uint64_t>()),
        row.contains("evidence") ? std::to_string(row["evidence"].get<std::uint64_t>()) : "-",
        rejected.empty() ? "-" : rejected);
  }
  if (json) fmt::print("{}\n", nlohmann::json(rows).dump());
  // Unreachable replicas are reported; only a cluster without a quorum of
  // answering replicas is an error (it cannot serve).
  const std::size_t up = rows.size() - static_cast<std::size_t>(down);
  if (!json && down > 0) {
    fmt::print("{} of {} replicas answered; a quorum is {}\n", up, rows.size(), quorum.size());
  }
  return up >= quorum.size() ? kExitOk : kExitError;
}

}  // namespace

void add_cluster_commands(CLI::App& app, std::function<int()>& run) {
  CLI::App* cluster = app.add_subcommand("cluster", "Create, start and stop a local cluster");
  cluster->require_subcommand(1);

  auto init = std::make_shared<InitOptions>();
  CLI::App* init_cmd = cluster->add_subcommand(
      "init", "Write keys (0600), TLS certificates, the manifest and one config per replica");
  init_cmd->add_option("--mode", init->mode, "crash (Raft, n = 2f+1) or byzantine (BFT, n >= 3f+1)")
      ->check(CLI::IsMember({"crash", "byzantine"}))
      ->capture_default_str();
  init_cmd->add_option("--replicas", init->replicas, "Number of replicas")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  init_cmd->add_option("--quorum-ratio", init->quorum_ratio,
                       "Byzantine mode: raise q to at least ratio*n (e.g. 0.75), trading "
                       "liveness for safety margin");
  init_cmd->add_option("--base-port", init->base_port, "Replica N listens on base-port + N - 1")
      ->check(CLI::Range(1, 65535))
      ->capture_default_str();
  init_cmd
      ->add_option("--admin-base-port", init->admin_base_port,
                   "Replica N's admin HTTP port is this + N - 1 (default base-port + 100)")
      ->check(CLI::Range(1, 65535));
  init_cmd->add_option("--host", init->host, "Address the replicas listen on")
      ->capture_default_str();
  init_cmd->add_option("--clients", init->clients, "Client identities to create")
      ->capture_default_str();
  init_cmd
      ->add_option("--app", init->app,
                   "kv (the key-value store) or evidence (the evidence service; byzantine "
                   "mode)")
      ->check(CLI::IsMember({"kv", "evidence"}))
      ->capture_default_str();
  init_cmd->add_option("--sources", init->sources,
                       "Evidence-source identities to create (numbered after the clients)");
  init_cmd->add_option("--admins", init->admins,
                       "Administrator identities to create (numbered after the sources)");
  init_cmd->add_option("--dir", init->dir, "Cluster directory (new or empty)")->required();
  init_cmd->callback([&run, init] { run = [init] { return run_init(*init); }; });

  auto dir = std::make_shared<fs::path>();
  auto only = std::make_shared<std::optional<std::uint64_t>>();
  auto kill = std::make_shared<bool>(false);
  CLI::App* up = cluster->add_subcommand(
      "up", "Start the replicas in the background (logs and PID files in each replica-N/)");
  up->add_option("--dir", *dir, "Cluster directory")->required();
  up->add_option("--replica", *only, "Only this replica");
  up->callback([&run, dir, only] { run = [dir, only] { return run_up(*dir, *only); }; });
  CLI::App* down = cluster->add_subcommand("down", "Stop the replicas (SIGTERM, then SIGKILL)");
  down->add_option("--dir", *dir, "Cluster directory")->required();
  down->add_option("--replica", *only, "Only this replica");
  down->add_flag("--kill", *kill, "Send SIGKILL at once (a crash)");
  down->callback([&run, dir, only, kill] {
    run = [dir, only, kill] { return run_down(*dir, *only, *kill); };
  });

  auto config = std::make_shared<fs::path>();
  CLI::App* node = app.add_subcommand("node", "Run one replica in the foreground");
  node->add_option("--config", *config, "The replica's config.toml")
      ->required()
      ->check(CLI::ExistingFile);
  node->callback([&run, config] { run = [config] { return run_node(*config); }; });

  auto json = std::make_shared<bool>(false);
  CLI::App* status = app.add_subcommand(
      "status",
      "One row per replica: role, term/round, commit, applied, lag, rejections, evidence");
  status->add_option("--dir", *dir, "Cluster directory")->required();
  status->add_flag("--json", *json, "One JSON array instead of the table");
  status->callback([&run, dir, json] { run = [dir, json] { return run_status(*dir, *json); }; });
}

}  // namespace phalanx::cli
