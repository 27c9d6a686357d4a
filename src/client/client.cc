#include "phalanx/client.h"

#include <fmt/format.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <map>
#include <set>

#include "cluster/manifest.h"
#include "consensus/common/client_reply.h"
#include "consensus/common/client_request.h"
#include "consensus/common/reply_quorum.h"
#include "net/channel.h"
#include "net/frame.h"
#include "security/verify.h"
#include "storage/key_file.h"

namespace phalanx::client {
namespace {

using Clock = std::chrono::steady_clock;
using consensus::CallOutcome;

// Waits after a NOT_LEADER without a hint (an election is on) before asking again.
constexpr auto kElectionPause = std::chrono::milliseconds(50);
// Frames kept for a replica whose connection is still being dialed (one
// that accepts TCP but never finishes the handshake, e.g. a paused process,
// would otherwise collect every call); attempt timeouts resend.
constexpr std::size_t kBacklogFramesMax = 64;

// The first sequence number of a process: microseconds since the epoch, so a
// later process of the same client starts above every earlier one without
// keeping a file (a client issues far less than one call per microsecond).
std::uint64_t first_sequence() {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count());
}

// Runs an application command (with `client` and `sequence` fields) through
// the cluster and decodes the application's reply.
template <class Reply, class Command>
Result<Reply> run_command(Client& c, Command command) {
  PHALANX_ASSIGN_OR_RETURN(Bytes reply, c.execute([&](ClientId client, std::uint64_t seq) {
    command.client = client;
    command.sequence = seq;
    return codec::encode(command);
  }));
  Result<Reply> decoded = codec::decode<Reply>(reply);
  if (!decoded) return Unexpected(std::move(decoded).error().with_context("the cluster's reply"));
  return decoded;
}

}  // namespace

class Client::Impl {
 public:
  Impl(cluster::Manifest manifest, security::TrustRegistry registry, ClientId id,
       crypto::KeyPair key, std::shared_ptr<asio::ssl::context> tls, ClientOptions options)
      : manifest_(std::move(manifest)),
        registry_(std::move(registry)),
        pins_(manifest_.pins()),
        id_(id),
        key_(std::move(key)),
        tls_(std::move(tls)),
        options_(std::move(options)),
        reply_quorum_(manifest_.quorum_rule()->reply_quorum()),
        next_sequence_(first_sequence()) {}

  ~Impl() {
    for (auto& [id, conn] : conns_) {
      if (conn.channel) conn.channel->close();
    }
    if (own_io_) own_io_->stop();
  }

  [[nodiscard]] ClientId id() const { return id_; }
  [[nodiscard]] const ClusterId& cluster() const { return manifest_.cluster; }
  [[nodiscard]] std::uint32_t replies_needed() const {
    return byzantine() ? static_cast<std::uint32_t>(reply_quorum_) : 1;
  }
  [[nodiscard]] crypto::Signature sign(SignDomain domain, ByteView message) const {
    return key_.sign(domain, message);
  }
  [[nodiscard]] bool on_shared_io() const { return own_io_ == nullptr; }
  Result<Bytes> execute(const std::function<Bytes(ClientId, std::uint64_t)>& command);
  void start(const std::function<Bytes(ClientId, std::uint64_t)>& command,
             std::function<void(Result<Bytes>)> done);

 private:
  struct Conn {
    std::shared_ptr<net::Channel> channel;
    std::vector<Bytes> backlog;  // frames waiting for the dial to finish
    bool dialing = false;
  };
  struct Call {
    std::uint64_t call_id = 0;
    std::uint64_t sequence = 0;
    consensus::ReplyQuorum quorum;
    std::set<NodeId> replied = {};
    std::map<std::string, std::set<NodeId>> refusals = {};  // by reason
    std::optional<Result<Bytes>> outcome = {};
    std::optional<NodeId> redirect = {};  // crash mode: ask this replica next
    std::optional<Clock::time_point> retry_at = {};
    Bytes frame = {};
    NodeId target = {};  // crash mode: where the last attempt went
    Clock::time_point deadline = {};
    Clock::time_point attempt_end = {};
    std::function<void(Result<Bytes>)> done = {};
  };

  void send(NodeId to, const Bytes& frame);
  // Sends the call's frame to its target (crash mode) or to every replica
  // that has not replied yet (byzantine mode).
  void send_round();
  // Acts on what the call has learned: finishes it, follows a redirect,
  // resends after silence or an election pause; then waits for the next
  // answer or deadline.
  void advance();
  asio::awaitable<void> connect(cluster::ReplicaEntry replica);
  void on_answer(NodeId from, consensus::ClientAnswer answer);
  void on_signed_reply(NodeId from, ByteView bytes);
  [[nodiscard]] NodeId next_replica(NodeId after) const;
  [[nodiscard]] bool byzantine() const {
    return manifest_.mode == consensus::FaultModel::kByzantine;
  }

  cluster::Manifest manifest_;
  security::TrustRegistry registry_;
  net::Pins pins_;
  ClientId id_;
  crypto::KeyPair key_;
  std::shared_ptr<asio::ssl::context> tls_;
  ClientOptions options_;
  std::size_t reply_quorum_;
  std::uint64_t next_sequence_;
  std::uint64_t next_call_id_ = 1;
  std::optional<NodeId> leader_;  // crash mode: where the last call succeeded
  // Replicas an attempt timed out on that have not answered since: not asked
  // first (crash mode) until they answer again.
  std::set<NodeId> unanswered_;
  // The client's own event loop, unless options_.io names a shared one.
  std::unique_ptr<asio::io_context> own_io_ =
      options_.io != nullptr ? nullptr : std::make_unique<asio::io_context>(1);
  asio::io_context& io_ = options_.io != nullptr ? *options_.io : *own_io_;
  asio::steady_timer wake_{io_};
  std::optional<Clock::time_point> waiting_until_;  // wake_ has a wait pending for this time
  std::map<NodeId, Conn> conns_;
  std::optional<Call> call_;
};

void Client::Impl::send(NodeId to, const Bytes& frame) {
  Conn& conn = conns_[to];
  if (conn.channel && conn.channel->is_open()) {
    conn.channel->send(frame);
    return;
  }
  if (conn.backlog.size() < kBacklogFramesMax) conn.backlog.push_back(frame);
  if (conn.dialing) return;
  conn.dialing = true;
  asio::co_spawn(io_, connect(*manifest_.replica(to)), asio::detached);
}

asio::awaitable<void> Client::Impl::connect(cluster::ReplicaEntry replica) {
  net::ChannelLimits limits;
  limits.frame_bytes_max = net::kClientFrameBytesMax;
  Result<std::shared_ptr<net::Channel>> dialed =
      co_await net::dial(io_.get_executor(), *tls_, pins_, replica.host, replica.port,
                         Principal::replica(replica.id), limits);
  Conn& conn = conns_[replica.id];
  conn.dialing = false;
  if (!dialed) {
    conn.backlog.clear();  // the attempt timeout resends
    co_return;
  }
  std::shared_ptr<net::Channel> channel = *dialed;
  conn.channel = channel;
  for (const Bytes& frame : conn.backlog) channel->send(frame);
  conn.backlog.clear();
  while (channel->is_open()) {
    Result<Bytes> frame = co_await channel->read_frame();
    if (!frame) break;
    Result<net::AnswerFrame> answer = codec::decode<net::AnswerFrame>(*frame);
    if (!answer) {
      channel->close();  // a replica speaking garbage is not listened to again on this connection
      break;
    }
    on_answer(replica.id, std::move(answer->answer));
    if (call_) advance();
  }
  if (conns_[replica.id].channel == channel) conns_[replica.id].channel.reset();
}

void Client::Impl::on_answer(NodeId from, consensus::ClientAnswer answer) {
  unanswered_.erase(from);
  if (!call_ || call_->outcome || answer.call_id != call_->call_id) return;  // stale
  switch (answer.outcome) {
    case CallOutcome::kDone:
      if (byzantine()) return on_signed_reply(from, answer.reply);
      leader_ = from;
      call_->outcome = std::move(answer.reply);
      return;
    case CallOutcome::kNotLeader:
      if (answer.leader_hint && *answer.leader_hint != from &&
          manifest_.replica(*answer.leader_hint) != nullptr) {
        call_->redirect = answer.leader_hint;
      } else {
        call_->retry_at = Clock::now() + kElectionPause;
        leader_ = next_replica(from);
      }
      return;
    case CallOutcome::kRejected: {
      std::set<NodeId>& who =
          call_->refusals[std::string(answer.reply.begin(), answer.reply.end())];
      who.insert(from);
      const std::size_t needed = byzantine() ? reply_quorum_ : 1;
      if (who.size() >= needed) {
        call_->outcome = fail(
            ErrorCode::kInvalidArgument,
            "refused by the cluster: " + std::string(answer.reply.begin(), answer.reply.end()));
      }
      return;
    }
  }
}

void Client::Impl::on_signed_reply(NodeId from, ByteView bytes) {
  Result<consensus::ClientReply> reply = codec::decode<consensus::ClientReply>(bytes);
  if (!reply || reply->replica != from || reply->client != id_ ||
      reply->sequence != call_->sequence || reply->cluster != manifest_.cluster) {
    return;  // not a reply to this call from this replica: counts for nothing
  }
  if (!security::verify(registry_, Untrusted<consensus::ClientReply>(*reply))) return;
  call_->replied.insert(from);
  if (std::optional<Bytes> accepted = call_->quorum.add(*reply)) call_->outcome = *accepted;
}

NodeId Client::Impl::next_replica(NodeId after) const {
  const std::vector<NodeId> ids = manifest_.replica_ids();
  auto it = std::upper_bound(ids.begin(), ids.end(), after);
  for (std::size_t step = 0; step < ids.size(); ++step, ++it) {
    if (it == ids.end()) it = ids.begin();
    if (!unanswered_.contains(*it)) return *it;
  }
  // Every replica is silent: go round them all.
  const auto next = std::upper_bound(ids.begin(), ids.end(), after);
  return next == ids.end() ? ids.front() : *next;
}

void Client::Impl::start(const std::function<Bytes(ClientId, std::uint64_t)>& command,
                         std::function<void(Result<Bytes>)> done) {
  PHALANX_ASSERT(!call_);  // one call at a time
  const std::uint64_t sequence = next_sequence_++;
  consensus::ClientRequest request{manifest_.cluster, id_, sequence, command(id_, sequence), {}};
  // Byzantine replicas check the signature; crash-mode replicas take the
  // TLS channel's word for who is calling and never look at it, so it is
  // left zero there rather than paying for an Ed25519 signature per call.
  if (byzantine()) {
    request.signature = key_.sign(consensus::ClientRequest::kDomain, [&request] {
      codec::Writer w;
      request.encode_signed(w);
      return w.take();
    }());
  }
  const std::uint64_t call_id = next_call_id_++;
  const Clock::time_point now = Clock::now();
  call_.emplace(Call{.call_id = call_id,
                     .sequence = sequence,
                     .quorum = consensus::ReplyQuorum(reply_quorum_),
                     .frame = codec::encode(net::CallFrame{call_id, codec::encode(request)}),
                     .target = leader_ && !unanswered_.contains(*leader_)
                                   ? *leader_
                                   : next_replica(manifest_.replica_ids().back()),
                     .deadline = now + options_.timeout,
                     .attempt_end = now + options_.attempt_timeout,
                     .done = std::move(done)});
  send_round();
  advance();
}

void Client::Impl::send_round() {
  if (!byzantine()) return send(call_->target, call_->frame);
  for (const cluster::ReplicaEntry& r : manifest_.replicas) {
    if (!call_->replied.contains(r.id)) send(r.id, call_->frame);
  }
}

void Client::Impl::advance() {
  Call& call = *call_;
  const Clock::time_point now = Clock::now();
  if (!call.outcome && now >= call.deadline) {
    call.outcome =
        fail(ErrorCode::kUnavailable,
             fmt::format("no {} answer within {} ms (are the replicas up? "
                         "`phalanx status` shows them)",
                         byzantine() ? fmt::format("{} matching", reply_quorum_) : "leader",
                         options_.timeout.count()));
  }
  if (call.outcome) {
    wake_.cancel();
    waiting_until_.reset();
    Result<Bytes> outcome = std::move(*call.outcome);
    std::function<void(Result<Bytes>)> done = std::move(call.done);
    call_.reset();
    done(std::move(outcome));  // may start the next call
    return;
  }
  if (call.redirect) {
    call.target = *std::exchange(call.redirect, std::nullopt);
    send_round();
    call.attempt_end = now + options_.attempt_timeout;
  } else if (call.retry_at && now >= *call.retry_at) {
    call.retry_at.reset();
    call.target = leader_.value_or(next_replica(call.target));
    send_round();
    call.attempt_end = now + options_.attempt_timeout;
  } else if (now >= call.attempt_end) {
    if (!byzantine()) {
      unanswered_.insert(call.target);
      call.target = next_replica(call.target);
    }
    send_round();
    call.attempt_end = now + options_.attempt_timeout;
  }
  Clock::time_point wake = std::min(call.deadline, call.attempt_end);
  if (call.retry_at) wake = std::min(wake, *call.retry_at);
  if (waiting_until_ == wake) return;  // an answer came; the wait still stands
  waiting_until_ = wake;
  wake_.expires_at(wake);  // cancels the wait pending before, if any
  wake_.async_wait([this](const asio::error_code& ec) {
    if (ec) return;  // cancelled: a later wait, or none, replaced it
    waiting_until_.reset();
    if (call_) advance();
  });
}

Result<Bytes> Client::Impl::execute(const std::function<Bytes(ClientId, std::uint64_t)>& command) {
  PHALANX_ASSERT(own_io_);  // a client on a shared io_context uses start()
  std::optional<Result<Bytes>> outcome;
  start(command, [&outcome](Result<Bytes> r) { outcome = std::move(r); });
  while (!outcome) own_io_->run_one();
  return std::move(*outcome);
}

Result<Client> Client::open(const ClientOptions& options) {
  PHALANX_ASSIGN_OR_RETURN(std::string text, storage::read_public_text_file(
                                                 options.manifest, cluster::kManifestBytesMax));
  Result<cluster::Manifest> manifest = cluster::Manifest::parse(text);
  if (!manifest) return Unexpected(std::move(manifest).error().with_context(options.manifest));
  PHALANX_ASSIGN_OR_RETURN(security::TrustRegistry registry, manifest->registry());
  const std::filesystem::path dir(options.identity_dir);
  PHALANX_ASSIGN_OR_RETURN(crypto::KeyPair key, storage::read_secret_key_file(dir / "client.key"));
  std::optional<ClientId> id;
  for (const cluster::ClientEntry& c : manifest->clients) {
    if (c.public_key == key.public_key() && !c.revoked) id = c.id;
  }
  if (!id) {
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("{}: this key is not a client of the cluster in {}",
                            (dir / "client.key").string(), options.manifest));
  }
  PHALANX_ASSIGN_OR_RETURN(net::TlsIdentity identity,
                           net::read_tls_identity(dir / "tls.crt", dir / "tls.key"));
  auto pins = std::make_shared<net::Pins>(manifest->pins());
  PHALANX_ASSIGN_OR_RETURN(std::shared_ptr<asio::ssl::context> tls,
                           net::make_tls_context(identity, pins));
  return Client(std::make_unique<Impl>(std::move(*manifest), std::move(registry), *id,
                                       std::move(key), std::move(tls), options));
}

Client::Client(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Client::Client(Client&&) noexcept = default;
Client& Client::operator=(Client&&) noexcept = default;
Client::~Client() = default;
ClientId Client::id() const { return impl_->id(); }
const ClusterId& Client::cluster() const { return impl_->cluster(); }
std::uint32_t Client::replies_needed() const { return impl_->replies_needed(); }
crypto::Signature Client::sign(SignDomain domain, ByteView message) const {
  return impl_->sign(domain, message);
}
Result<Bytes> Client::execute(const std::function<Bytes(ClientId, std::uint64_t)>& command) {
  return impl_->execute(command);
}
void Client::start(const std::function<Bytes(ClientId, std::uint64_t)>& command,
                   std::function<void(Result<Bytes>)> done) {
  PHALANX_ASSERT(impl_->on_shared_io());  // its own loop runs only inside execute()
  impl_->start(command, std::move(done));
}

Result<kv::KvReply> KvClient::run(kv::KvCommand command) {
  PHALANX_TRY(kv::check_limits(command));
  return run_command<kv::KvReply>(client_, std::move(command));
}

Result<kv::KvReply> KvClient::put(const std::string& key, const Bytes& value) {
  return run({{}, 0, kv::KvOp::kPut, key, value, std::nullopt});
}
Result<kv::KvReply> KvClient::get(const std::string& key) {
  return run({{}, 0, kv::KvOp::kGet, key, {}, std::nullopt});
}
Result<kv::KvReply> KvClient::del(const std::string& key) {
  return run({{}, 0, kv::KvOp::kDelete, key, {}, std::nullopt});
}
Result<kv::KvReply> KvClient::cas(const std::string& key, const std::optional<Bytes>& expected,
                                  const Bytes& value) {
  return run({{}, 0, kv::KvOp::kCompareAndSet, key, value, expected});
}
Result<kv::KvReply> KvClient::range(const std::string& from, const std::string& end,
                                    std::uint32_t limit) {
  return run({{}, 0, kv::KvOp::kRange, from, {}, std::nullopt, end, limit});
}

}  // namespace phalanx::client

namespace phalanx::client {

Result<evidence::EvidenceReply> EvidenceClient::run(evidence::EvidenceCommand command) {
  return run_command<evidence::EvidenceReply>(client_, std::move(command));
}

Result<evidence::EvidenceReply> EvidenceClient::submit(const std::string& hypothesis,
                                                       evidence::Units llr) {
  PHALANX_TRY(evidence::check_hypothesis(hypothesis));
  PHALANX_ASSIGN_OR_RETURN(evidence::EvidenceReply standings, sources());
  evidence::SourceStanding mine;
  for (const evidence::SourceStanding& s : standings.sources) {
    if (s.source == client_.id()) mine = s;
  }
  const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  evidence::EvidenceItem item{client_.cluster(),
                              client_.id(),
                              hypothesis,
                              llr,
                              mine.sequence + 1,
                              mine.head,
                              std::max<std::int64_t>(now, mine.timestamp_ms),
                              {}};
  item.signature = client_.sign(evidence::EvidenceItem::kDomain, security::signed_bytes(item));
  evidence::EvidenceCommand c{{}, 0, evidence::EvidenceOp::kSubmit};
  c.item = std::move(item);
  return run(std::move(c));
}

Result<evidence::EvidenceReply> EvidenceClient::posterior(const std::string& hypothesis) {
  PHALANX_TRY(evidence::check_hypothesis(hypothesis));
  evidence::EvidenceCommand c{{}, 0, evidence::EvidenceOp::kPosterior};
  c.hypothesis = hypothesis;
  return run(std::move(c));
}

Result<evidence::EvidenceReply> EvidenceClient::sources() {
  return run({{}, 0, evidence::EvidenceOp::kSources});
}

Result<evidence::EvidenceReply> EvidenceClient::proof(ClientId source, std::uint64_t sequence) {
  evidence::EvidenceCommand c{{}, 0, evidence::EvidenceOp::kProof};
  c.proof_source = source;
  c.proof_sequence = sequence;
  return run(std::move(c));
}

Result<evidence::EvidenceReply> EvidenceClient::config() {
  return run({{}, 0, evidence::EvidenceOp::kConfig});
}

Result<evidence::EvidenceReply> EvidenceClient::configure(const evidence::EvidenceConfig& config) {
  PHALANX_ASSIGN_OR_RETURN(evidence::EvidenceReply current, this->config());
  evidence::ConfigChange change{
      client_.cluster(), client_.id(), current.config_version + 1, config, {}};
  change.signature = client_.sign(evidence::ConfigChange::kDomain, security::signed_bytes(change));
  evidence::EvidenceCommand c{{}, 0, evidence::EvidenceOp::kConfigure};
  c.change = std::move(change);
  return run(std::move(c));
}

}  // namespace phalanx::client
