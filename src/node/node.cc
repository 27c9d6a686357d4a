#include "node/node.h"

#include <fmt/format.h>
#include <sodium.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <asio/redirect_error.hpp>
#include <asio/signal_set.hpp>
#include <asio/thread_pool.hpp>
#include <asio/use_awaitable.hpp>
#include <chrono>
#include <map>
#include <thread>

#include "apps/evidence/evidence_machine.h"
#include "apps/kv/kv_machine.h"
#include "consensus/common/client_request.h"
#include "net/channel.h"
#include "net/frame.h"
#include "net/rate_limit.h"
#include "node/admin_http.h"
#include "node/admission.h"
#include "node/bft_replica.h"
#include "node/parallel.h"
#include "node/raft_replica.h"
#include "node/verify_pool.h"
#include "storage/key_file.h"
#include "storage/posix_file_system.h"

namespace phalanx::node {
namespace {

using asio::use_awaitable;
using Clock = std::chrono::steady_clock;
using consensus::FaultModel;

constexpr auto kDialBackoffMin = std::chrono::milliseconds(50);
constexpr auto kDialBackoffMax = std::chrono::seconds(2);

std::uint64_t now_ns() {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
          .count());
}

}  // namespace

class Node::Impl {
 public:
  Impl(cluster::NodeConfig config, cluster::Manifest manifest, security::TrustRegistry registry,
       Log log)
      : config_(std::move(config)),
        manifest_(std::move(manifest)),
        registry_(std::move(registry)),
        pins_(std::make_shared<net::Pins>(manifest_.pins())),
        log_(std::move(log)),
        tick_(io_),
        signals_(io_, SIGINT, SIGTERM) {}

  Status open_replica(crypto::KeyPair key, const consensus::Quorum& quorum);
  Status open_tls(const net::TlsIdentity& identity);
  Status run();
  void stop() {
    asio::post(io_, [this] { shutdown(); });
  }

 private:
  struct ClientConn {
    std::shared_ptr<net::Channel> channel;
    ClientId client;
  };

  void shutdown();
  asio::awaitable<void> accept_loop();
  asio::awaitable<void> serve(asio::ip::tcp::socket socket, asio::ip::address from);
  // The next frame, counted; nullopt once the connection has ended.
  asio::awaitable<std::optional<Bytes>> next_frame(net::Channel& channel, std::string_view what);
  asio::awaitable<void> serve_peer(std::shared_ptr<net::Channel> channel, NodeId from);
  asio::awaitable<void> serve_client(std::shared_ptr<net::Channel> channel, ClientId client);
  asio::awaitable<void> dial_loop(cluster::ReplicaEntry peer);
  asio::awaitable<void> tick_loop();
  void on_call(consensus::ClientHandle handle, ClientId client, ByteView payload);
  void refuse_call(consensus::ClientHandle handle, std::uint64_t call_id, const Error& why);
  // Sends what the replica released, hands a log flush to the disk thread,
  // and notices a storage failure.
  void pump();
  // Crash mode, background sync: the replica's log flush, if one is due,
  // runs on the disk thread; its outcome comes back to the io thread.
  void start_flush();
  // Likewise a snapshot to write, on a thread of its own so that a large
  // one never holds up the log's flushes.
  void start_snapshot();
  // Group commit (crash mode): after a frame, let every frame already
  // waiting on any connection be read and stepped first, then flush the
  // replica once (one fsync for the batch) and pump.
  void flush_soon();
  void flush_when_quiet(std::uint64_t frames_seen, int hops);
  void reject(const Error& error, std::string_view where);
  bool rate_ok(const Principal& who, std::uint64_t per_second, std::uint64_t burst);
  NodeReport report() const;
  HttpResponse admin(std::string_view path) const;
  // A duration in ticks of this node, at least one.
  [[nodiscard]] std::uint32_t ticks(std::chrono::milliseconds d) const {
    return std::max<std::uint32_t>(1, static_cast<std::uint32_t>(d.count() / config_.tick_ms));
  }
  void info(std::string_view message) const { log_("info", message); }
  void warn(std::string_view message) const { log_("warn", message); }

  cluster::NodeConfig config_;
  cluster::Manifest manifest_;
  security::TrustRegistry registry_;  // outlives replica_
  std::shared_ptr<const net::Pins> pins_;
  Log log_;
  asio::io_context io_{1};
  std::shared_ptr<asio::ssl::context> tls_;
  storage::PosixFileSystem fs_;
  std::unique_ptr<consensus::Replica> replica_;
  RaftReplica* raft_ = nullptr;  // replica_, by mode
  BftReplica* bft_ = nullptr;
  std::optional<asio::ip::tcp::acceptor> acceptor_;
  std::optional<asio::ip::tcp::acceptor> admin_acceptor_;
  asio::steady_timer tick_;
  asio::signal_set signals_;
  bool stopping_ = false;

  std::map<NodeId, std::shared_ptr<net::Channel>> peers_;  // outgoing, by peer
  std::map<consensus::ClientHandle, ClientConn> clients_;
  consensus::ClientHandle next_handle_ = 1;
  bool flush_pending_ = false;
  std::map<std::pair<consensus::ClientHandle, std::uint64_t>, Clock::time_point> calls_;
  Admission admission_{config_.limits};
  std::map<Principal, net::TokenBucket> buckets_;
  NodeCounters counters_;
  std::optional<Error> failure_;
  // Byzantine mode: signature answers, shared by the io thread and the
  // workers that check frames ahead of the replica (none if verify_threads = 0).
  crypto::VerifyMemo signatures_{VerifyPool::kMemoEntriesMax};
  std::unique_ptr<VerifyPool> verify_pool_;  // after io_: its workers stop first
  std::unique_ptr<asio::thread_pool> disk_;  // after io_ and replica_: joined first
  std::unique_ptr<asio::thread_pool> snapshot_disk_;
};

Status Node::Impl::open_tls(const net::TlsIdentity& identity) {
  PHALANX_ASSIGN_OR_RETURN(tls_, net::make_tls_context(identity, pins_));
  PHALANX_ASSIGN_OR_RETURN(net::Fingerprint mine,
                           net::certificate_fingerprint(identity.certificate_pem));
  const cluster::ReplicaEntry* me = manifest_.replica(config_.id);
  if (mine != me->tls_fingerprint) {
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("{}: this certificate is not the one the manifest pins for replica {}",
                            config_.tls_certificate, config_.id.value()));
  }
  return {};
}

Status Node::Impl::open_replica(crypto::KeyPair key, const consensus::Quorum& quorum) {
  if (key.public_key() != manifest_.replica(config_.id)->public_key) {
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("{}: this key is not the one the manifest lists for replica {}",
                            config_.identity_key, config_.id.value()));
  }
  PHALANX_TRY(fs_.create_dir(config_.data_dir));
  std::optional<Error> refused;
  if (manifest_.mode == FaultModel::kCrash) {
    RaftReplicaOptions options;
    options.cluster = manifest_.cluster;
    options.raft.id = config_.id;
    options.raft.voters = manifest_.replica_ids();
    // As etcd's defaults: heartbeats every 100 ms, elections after 1 to 2 s of silence.
    options.raft.heartbeat_ticks = ticks(std::chrono::milliseconds(100));
    options.raft.election_ticks_min = ticks(std::chrono::seconds(1));
    options.raft.election_ticks_max = 2 * options.raft.election_ticks_min;
    options.data_dir = config_.data_dir;
    options.defer_drive = config_.group_commit;  // flush_soon() commits a burst's appends at once
    options.background_sync = config_.background_sync;
    options.snapshot_every = config_.snapshot_every;
    options.wal.parallel = thread_parallel_for(std::thread::hardware_concurrency());
    if (config_.background_sync) {
      disk_ = std::make_unique<asio::thread_pool>(1);
      snapshot_disk_ = std::make_unique<asio::thread_pool>(1);
    }
    RaftReplicaHooks hooks;
    hooks.event = [this](const std::string& what) { info(what); };
    std::uint64_t seed = 0;
    randombytes_buf(&seed, sizeof seed);
    auto r = RaftReplica::open(fs_, registry_, std::move(options),
                               std::make_unique<kv::KvMachine>(), seed, std::move(hooks));
    if (r) {
      raft_ = r->get();
      replica_ = std::move(*r);
    } else {
      refused = std::move(r).error();
    }
  } else {
    BftReplicaOptions options{bft::Config{config_.id, manifest_.replica_ids(),
                                          bft::Validators{&registry_, quorum, manifest_.epoch},
                                          manifest_.cluster}};
    options.data_dir = config_.data_dir;
    options.wal.parallel = thread_parallel_for(std::thread::hardware_concurrency());
    BftPacing{}.apply(std::chrono::milliseconds(config_.tick_ms), options.bft);
    BftReplicaHooks hooks;
    hooks.evidence = [this](const bft::EquivocationProof& p) {
      warn(fmt::format("equivocation proof: replica {} signed two statements for round {}",
                       p.author.value(), p.round.value()));
    };
    hooks.diverged = [this](const bft::Divergence& d) {
      warn(fmt::format("replica {} signed a state root other than the certified one",
                       d.replica.value()));
    };
    const std::uint32_t threads = config_.verify_threads.value_or(
        std::max<std::uint32_t>(1, std::thread::hardware_concurrency()));
    if (threads > 0) {
      verify_pool_ =
          std::make_unique<VerifyPool>(threads, options.bft.validators, config_.id, signatures_);
    }
    std::unique_ptr<consensus::StateMachine> app;
    if (manifest_.app == cluster::App::kEvidence) {
      app = std::make_unique<evidence::EvidenceMachine>(&registry_, manifest_.cluster,
                                                        manifest_.evidence);
    } else {
      app = std::make_unique<kv::KvMachine>();
    }
    auto r = BftReplica::open(fs_, registry_, std::move(options), std::move(app), std::move(key),
                              std::move(hooks));
    if (r) {
      bft_ = r->get();
      replica_ = std::move(*r);
    } else {
      refused = std::move(r).error();
    }
  }
  if (refused) {
    Error& e = *refused;
    if (e.code() == ErrorCode::kCorruption) {
      return fail(ErrorCode::kCorruption,
                  fmt::format("data directory {} cannot be trusted: {}. This replica will not "
                              "serve from it. To rejoin, stop it, move the directory aside and "
                              "start again: it re-syncs from its peers (docs/operations.md, "
                              "\"Rejoining\")",
                              config_.data_dir, e.message()));
    }
    return Unexpected(std::move(e));
  }
  return {};
}

Status Node::Impl::run() {
  const cluster::ReplicaEntry* me = manifest_.replica(config_.id);
  const cluster::Endpoint listen = config_.listen.value_or(cluster::Endpoint{me->host, me->port});
  auto bind = [this](const cluster::Endpoint& at) -> Result<asio::ip::tcp::acceptor> {
    asio::error_code ec;
    const asio::ip::address address = asio::ip::make_address(at.host, ec);
    if (ec) {
      return fail(ErrorCode::kInvalidArgument,
                  fmt::format("{}: not an IP address ({})", at.host, ec.message()));
    }
    asio::ip::tcp::acceptor acceptor(io_);
    const asio::ip::tcp::endpoint endpoint(address, at.port);
    acceptor.open(endpoint.protocol(), ec);
    if (!ec) acceptor.set_option(asio::ip::tcp::acceptor::reuse_address(true), ec);
    if (!ec) acceptor.bind(endpoint, ec);
    if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (ec)
      return fail(ErrorCode::kIo, fmt::format("listen on {}: {}", at.to_string(), ec.message()));
    return acceptor;
  };
  PHALANX_ASSIGN_OR_RETURN(asio::ip::tcp::acceptor acceptor, bind(listen));
  acceptor_.emplace(std::move(acceptor));
  if (config_.admin) {
    PHALANX_ASSIGN_OR_RETURN(asio::ip::tcp::acceptor admin_listener, bind(*config_.admin));
    admin_acceptor_.emplace(std::move(admin_listener));
    asio::co_spawn(
        io_, serve_admin(*admin_acceptor_, [this](std::string_view path) { return admin(path); }),
        asio::detached);
  }
  signals_.async_wait([this](const asio::error_code& ec, int signal) {
    if (ec) return;
    info(fmt::format("signal {}: stopping", signal));
    shutdown();
  });
  asio::co_spawn(io_, accept_loop(), asio::detached);
  asio::co_spawn(io_, tick_loop(), asio::detached);
  for (const cluster::ReplicaEntry& peer : manifest_.replicas) {
    if (peer.id != config_.id) asio::co_spawn(io_, dial_loop(peer), asio::detached);
  }
  info(fmt::format("replica {} ({} mode, {}) serving on {}{}", config_.id.value(),
                   cluster::mode_name(manifest_.mode), manifest_.quorum_rule()->describe(),
                   listen.to_string(),
                   config_.admin ? ", admin on http://" + config_.admin->to_string() : ""));
  {
    // The replica's own checks consult the answers the workers found.
    std::optional<crypto::ScopedVerifyMemo> lookups;
    if (bft_ != nullptr) lookups.emplace(signatures_);
    io_.run();
  }
  if (failure_) return Unexpected(*failure_);
  return {};
}

void Node::Impl::shutdown() {
  if (stopping_) return;
  stopping_ = true;
  asio::error_code ignored;
  if (acceptor_) acceptor_->close(ignored);
  if (admin_acceptor_) admin_acceptor_->close(ignored);
  tick_.cancel();
  signals_.cancel(ignored);
  for (auto& [id, channel] : peers_) channel->close();
  for (auto& [handle, conn] : clients_) conn.channel->close();
  io_.stop();
}

// An unauthenticated socket only ever holds a handshake slot (node/admission.h),
// and only for handshake_timeout_ms.
asio::awaitable<void> Node::Impl::accept_loop() {
  while (!stopping_) {
    asio::error_code ec;
    asio::ip::tcp::socket socket =
        co_await acceptor_->async_accept(asio::redirect_error(use_awaitable, ec));
    if (ec) continue;
    const asio::ip::address from = socket.remote_endpoint(ec).address();
    if (ec) continue;
    if (const char* limit = admission_.begin_handshake(from)) {
      ++counters_.connections_refused[limit];
      socket.close(ec);
      continue;
    }
    asio::co_spawn(io_, serve(std::move(socket), from), asio::detached);
  }
}

asio::awaitable<void> Node::Impl::serve(asio::ip::tcp::socket socket, asio::ip::address from) {
  const cluster::NodeLimits& limits = config_.limits;
  net::AcceptLimits accept_limits{std::chrono::milliseconds(limits.handshake_timeout_ms), {}, {}};
  accept_limits.replicas.frame_bytes_max = net::kPeerFrameBytesMax;
  accept_limits.replicas.frame_timeout = std::chrono::milliseconds(limits.frame_timeout_ms);
  accept_limits.clients.frame_bytes_max = net::kClientFrameBytesMax;
  accept_limits.clients.frame_timeout = accept_limits.replicas.frame_timeout;
  accept_limits.clients.idle_timeout = std::chrono::milliseconds(limits.client_idle_timeout_ms);
  Result<std::shared_ptr<net::Channel>> accepted =
      co_await net::accept(std::move(socket), *tls_, *pins_, accept_limits);
  admission_.end_handshake(from);
  if (!accepted) {
    ++counters_.handshakes_failed;
    reject(accepted.error(), "TLS handshake");
    co_return;
  }
  std::shared_ptr<net::Channel> channel = std::move(*accepted);
  const Principal who = channel->peer();
  if (const char* limit = admission_.begin_connection(who)) {
    ++counters_.connections_refused[limit];
    channel->close();
    co_return;
  }
  ++counters_.connections_accepted;
  if (who.kind == PrincipalKind::kReplica) {
    co_await serve_peer(channel, NodeId{who.id});
  } else {
    co_await serve_client(channel, ClientId{who.id});
  }
  admission_.end_connection(who);
}

asio::awaitable<std::optional<Bytes>> Node::Impl::next_frame(net::Channel& channel,
                                                             std::string_view what) {
  Result<Bytes> frame = co_await channel.read_frame();
  if (!frame) {
    // An oversized, empty, cut-short or trickling frame is a rejection; a
    // closed connection is not, nor is an idle one closed.
    if (frame.error().code() == ErrorCode::kSecurity) reject(frame.error(), what);
    if (frame.error().code() == ErrorCode::kUnavailable) ++counters_.idle_closed;
    co_return std::nullopt;
  }
  ++counters_.frames_in;
  counters_.bytes_in += frame->size();
  co_return std::move(*frame);
}

asio::awaitable<void> Node::Impl::serve_peer(std::shared_ptr<net::Channel> channel, NodeId from) {
  while (channel->is_open()) {
    std::optional<Bytes> frame = co_await next_frame(*channel, "peer frame");
    if (!frame) co_return;
    if (!rate_ok(channel->peer(), config_.limits.peer_frames_per_second,
                 config_.limits.peer_burst)) {
      continue;  // dropped: consensus recovers a lost message
    }
    if (verify_pool_) co_await verify_pool_->peer_frame(*frame);
    if (Status s = replica_->receive(from, *frame); !s) {
      // Counted by the replica. A frame that does not even decode ends the connection.
      const SecurityError* sec = s.error().security();
      if (sec != nullptr && std::holds_alternative<MalformedInput>(*sec)) channel->close();
    }
    flush_soon();
  }
}

asio::awaitable<void> Node::Impl::serve_client(std::shared_ptr<net::Channel> channel,
                                               ClientId client) {
  const consensus::ClientHandle handle = next_handle_++;
  clients_[handle] = ClientConn{channel, client};
  while (channel->is_open()) {
    std::optional<Bytes> frame = co_await next_frame(*channel, "client frame");
    if (!frame) break;
    if (verify_pool_) co_await verify_pool_->client_call(*frame, client);
    on_call(handle, client, *frame);
  }
  clients_.erase(handle);
  std::erase_if(calls_, [handle](const auto& entry) { return entry.first.first == handle; });
}

void Node::Impl::on_call(consensus::ClientHandle handle, ClientId client, ByteView payload) {
  Result<net::CallFrame> call = codec::decode<net::CallFrame>(payload);
  if (!call) {
    reject(call.error(), "client frame");
    clients_.at(handle).channel->close();
    return;
  }
  ++counters_.client_calls;
  const Principal who = Principal::client(client);
  if (!rate_ok(who, config_.limits.client_requests_per_second, config_.limits.client_burst)) {
    return refuse_call(
        handle, call->call_id,
        Error(RateLimitExceeded{who.to_string(), config_.limits.client_requests_per_second}));
  }
  // The replica admits it (node/client_admission.h): the caller the channel
  // proved must be the request's author, allowed what its command asks.
  calls_[{handle, call->call_id}] = Clock::now();
  replica_->call(handle, {call->call_id, who, std::move(call->request)});
  flush_soon();
}

void Node::Impl::flush_soon() {
  // Byzantine mode, or group commit off: the replica drove on this input.
  if (raft_ == nullptr || !config_.group_commit) return pump();
  if (flush_pending_) return;
  flush_pending_ = true;
  asio::post(io_, [this, seen = counters_.frames_in] { flush_when_quiet(seen, 0); });
}

// Each hop goes to the back of the io queue, behind the reads that had
// completed; while they keep bringing frames (up to a bound, so a busy
// node still commits), hop again.
void Node::Impl::flush_when_quiet(std::uint64_t frames_seen, int hops) {
  constexpr int kHopsMax = 16;
  if (counters_.frames_in != frames_seen && hops < kHopsMax) {
    asio::post(io_, [this, seen = counters_.frames_in, hops] { flush_when_quiet(seen, hops + 1); });
    return;
  }
  flush_pending_ = false;
  replica_->flush();
  ++counters_.flushes;
  pump();
}

void Node::Impl::refuse_call(consensus::ClientHandle handle, std::uint64_t call_id,
                             const Error& why) {
  reject(why, "client request");
  consensus::ClientAnswer answer{.call_id = call_id,
                                 .outcome = consensus::CallOutcome::kRejected,
                                 .reply = to_bytes(public_message(why))};
  if (clients_.at(handle).channel->send(codec::encode(net::AnswerFrame{answer}))) {
    ++counters_.frames_out;
  }
}

void Node::Impl::start_flush() {
  std::optional<storage::WalFlush> flush = raft_->take_flush();
  if (!flush) return;
  asio::post(*disk_, [this, flush = std::move(*flush)]() mutable {
    Status outcome = flush.run();
    asio::post(io_, [this, flush = std::move(flush), outcome = std::move(outcome)] {
      raft_->flushed(flush, outcome);
      pump();
    });
  });
}

void Node::Impl::start_snapshot() {
  std::optional<SnapshotJob> job = raft_->take_snapshot_job();
  if (!job) return;
  asio::post(*snapshot_disk_, [this, job = std::move(*job)] {
    Status outcome = job.run();
    asio::post(io_, [this, job, outcome = std::move(outcome)] {
      raft_->snapshot_written(job, outcome);
      pump();
    });
  });
}

void Node::Impl::pump() {
  if (disk_) {
    start_flush();
    start_snapshot();
  }
  consensus::Output out = replica_->take_output();
  for (consensus::Output::ToPeer& m : out.messages) {
    const auto it = peers_.find(m.to);
    if (it != peers_.end() && it->second->send(m.frame)) {
      ++counters_.frames_out;
    } else {
      ++counters_.frames_dropped;
    }
  }
  for (consensus::Output::ToClient& a : out.answers) {
    const auto call = calls_.find({a.client, a.answer.call_id});
    if (call != calls_.end()) {
      counters_.request_latency.observe(
          std::chrono::duration<double>(Clock::now() - call->second).count());
      calls_.erase(call);
    }
    const auto it = clients_.find(a.client);
    if (it == clients_.end()) continue;  // the client left; it will retry elsewhere
    if (it->second.channel->send(codec::encode(net::AnswerFrame{std::move(a.answer)}))) {
      ++counters_.frames_out;
      ++counters_.client_answers;
    } else {
      ++counters_.frames_dropped;
    }
  }
  if (replica_->failure() && !failure_) {
    failure_ = *replica_->failure();
    log_("error", fmt::format("storage failed, replica stopped: {}", failure_->to_string()));
    shutdown();
  }
}

asio::awaitable<void> Node::Impl::dial_loop(cluster::ReplicaEntry peer) {
  auto backoff = std::chrono::duration_cast<Clock::duration>(kDialBackoffMin);
  asio::steady_timer wait(io_);
  bool reported = false;
  while (!stopping_) {
    net::ChannelLimits limits;
    limits.frame_bytes_max = net::kPeerFrameBytesMax;
    Result<std::shared_ptr<net::Channel>> dialed =
        co_await net::dial(io_.get_executor(), *tls_, *pins_, peer.host, peer.port,
                           Principal::replica(peer.id), limits);
    if (dialed) {
      if (reported) info(fmt::format("connected to replica {}", peer.id.value()));
      reported = false;
      backoff = kDialBackoffMin;
      std::shared_ptr<net::Channel> channel = std::move(*dialed);
      peers_[peer.id] = channel;
      // Nothing is expected back on this channel; a read ends when it closes.
      while (channel->is_open()) {
        Result<Bytes> unexpected = co_await channel->read_frame();
        if (unexpected) channel->close();
      }
      if (peers_[peer.id] == channel) peers_.erase(peer.id);
      if (stopping_) co_return;
    } else {
      if (dialed.error().security() != nullptr) reject(dialed.error(), "dialing a peer");
      if (!reported) {
        info(fmt::format("replica {} at {}:{} not reachable yet: {}", peer.id.value(), peer.host,
                         peer.port, dialed.error().to_string()));
        reported = true;
      }
    }
    wait.expires_after(backoff);
    asio::error_code ec;
    co_await wait.async_wait(asio::redirect_error(use_awaitable, ec));
    backoff = std::min<Clock::duration>(backoff * 2, kDialBackoffMax);
  }
}

asio::awaitable<void> Node::Impl::tick_loop() {
  const auto period = std::chrono::milliseconds(config_.tick_ms);
  auto next = Clock::now();
  while (!stopping_) {
    next += period;
    tick_.expires_at(next);
    asio::error_code ec;
    co_await tick_.async_wait(asio::redirect_error(use_awaitable, ec));
    if (stopping_) co_return;
    replica_->tick();
    pump();
  }
}

void Node::Impl::reject(const Error& error, std::string_view where) {
  if (counters_.rejected[kind_name(error)]++ == 0) {
    // The first of each kind is logged; the rest are counted (/metrics).
    warn(fmt::format("{}: {} (further ones are counted in phalanx_rejected_total)", where,
                     error.to_string()));
  }
}

bool Node::Impl::rate_ok(const Principal& who, std::uint64_t per_second, std::uint64_t burst) {
  auto it = buckets_.try_emplace(who, per_second, burst).first;
  if (it->second.take(now_ns())) return true;
  reject(Error(RateLimitExceeded{who.to_string(), per_second}), "rate limit");
  return false;
}

NodeReport Node::Impl::report() const {
  NodeReport r;
  r.status = replica_->status();
  r.counters = counters_;
  r.fsyncs = fs_.syncs();
  for (const auto& [id, channel] : peers_) r.peers_connected += channel->is_open() ? 1 : 0;
  r.peers_total = manifest_.replicas.size() - 1;
  r.clients_connected = clients_.size();
  if (bft_ != nullptr) {
    r.signatures = NodeReport::Signatures{signatures_.checks(), signatures_.hits(),
                                          verify_pool_ ? verify_pool_->threads() : 0,
                                          verify_pool_ ? verify_pool_->jobs() : 0};
  }
  if (replica_->failure()) r.failure = replica_->failure()->to_string();
  return r;
}

HttpResponse Node::Impl::admin(std::string_view path) const {
  if (path == "/metrics") {
    return {200, "text/plain; version=0.0.4; charset=utf-8", prometheus_text(report())};
  }
  if (path == "/status") return {200, "application/json", status_json(report()) + "\n"};
  if (path == "/health") {
    if (replica_->failure()) return {503, "text/plain; charset=utf-8", "storage failed\n"};
    return {200, "text/plain; charset=utf-8", "ok\n"};
  }
  return {404, "text/plain; charset=utf-8", "not found: try /metrics, /health or /status\n"};
}

Result<std::unique_ptr<Node>> Node::open(const cluster::NodeConfig& config, Log log) {
  PHALANX_ASSIGN_OR_RETURN(
      std::string manifest_text,
      storage::read_public_text_file(config.manifest, cluster::kManifestBytesMax));
  Result<cluster::Manifest> manifest = cluster::Manifest::parse(manifest_text);
  if (!manifest) return Unexpected(std::move(manifest).error().with_context(config.manifest));
  if (manifest->replica(config.id) == nullptr) {
    return fail(ErrorCode::kInvalidArgument, fmt::format("{}: replica {} is not in the manifest",
                                                         config.manifest, config.id.value()));
  }
  PHALANX_ASSIGN_OR_RETURN(consensus::Quorum quorum, manifest->quorum_rule());
  PHALANX_ASSIGN_OR_RETURN(security::TrustRegistry registry, manifest->registry());
  PHALANX_ASSIGN_OR_RETURN(crypto::KeyPair key, storage::read_secret_key_file(config.identity_key));
  PHALANX_ASSIGN_OR_RETURN(net::TlsIdentity identity,
                           net::read_tls_identity(config.tls_certificate, config.tls_key));
  auto impl =
      std::make_unique<Impl>(config, std::move(*manifest), std::move(registry), std::move(log));
  PHALANX_TRY(impl->open_tls(identity));
  PHALANX_TRY(impl->open_replica(std::move(key), quorum));
  return std::unique_ptr<Node>(new Node(std::move(impl)));
}

Node::Node(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Node::~Node() = default;
Status Node::run() { return impl_->run(); }
void Node::stop() { impl_->stop(); }

}  // namespace phalanx::node
