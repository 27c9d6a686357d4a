#include "sim/bft_cluster.h"

#include <fmt/format.h>

#include <deque>
#include <memory>

#include "apps/kv/kv_machine.h"
#include "consensus/bft/wire.h"
#include "consensus/common/reply_quorum.h"
#include "node/bft_replica.h"
#include "security/verify.h"
#include "sim/linearizability.h"
#include "sim/network.h"
#include "sim/sim_support.h"
#include "sim/sim_file_system.h"

namespace phalanx::sim {
namespace {

constexpr std::uint64_t kTickMs = 10;
constexpr std::uint64_t kClientTimeoutMs = 500;
constexpr std::uint64_t kLivenessBoundMs = 3'500;
constexpr std::uint64_t kDrainMs = 1'000;
constexpr std::uint64_t kClientBase = 1000;  // network ids of clients
constexpr std::uint64_t kForcePowerLossMs = 100;
constexpr std::size_t kTraceTail = 40;
constexpr std::size_t kRememberedFrames = 32;  // what a replayer keeps to replay
const Epoch kEpoch{1};

using Wire = std::variant<Bytes, consensus::ClientCall, consensus::ClientAnswer>;

crypto::KeyPair replica_key(NodeId id) {
  crypto::Seed seed;
  seed[0] = static_cast<std::uint8_t>(id.value());
  seed[1] = 0xb7;
  return crypto::KeyPair::from_seed(seed);
}

crypto::KeyPair client_key(ClientId id) {
  crypto::Seed seed;
  seed[0] = static_cast<std::uint8_t>(id.value());
  seed[1] = 0xc1;
  return crypto::KeyPair::from_seed(seed);
}

ClusterId cluster_id() {
  ClusterId c;
  c[0] = 0x50;
  c[1] = 0x48;
  return c;
}

struct Node {
  NodeId id;
  Adversary adversary = Adversary::kNone;  // kNone: honest
  std::unique_ptr<SimFileSystem> fs;
  std::unique_ptr<node::BftReplica> replica;  // null while down
  std::optional<crypto::KeyPair> key;
  bool up = false;
  bool lost_power = false;
  std::uint64_t down_until = 0;
  std::uint64_t power_loss_since = 0;
  std::uint64_t tick_ms = 10;
  std::uint64_t lives = 0;
  // A liar's memory.
  std::deque<std::pair<NodeId, Bytes>> sent;   // its own frames (to, frame)
  std::deque<Bytes> heard;                     // other replicas' frames
  std::optional<consensus::ClientRequest> captured;  // a client-signed request it saw
  std::deque<bft::QuorumCert> qcs;             // QCs it saw, oldest first
  Round attacked_round;                        // the last round a leader attack was counted in

  [[nodiscard]] bool honest() const { return adversary == Adversary::kNone; }
};

struct Pending {
  std::uint64_t sequence;
  Bytes request;  // the encoded, client-signed ClientRequest
  std::uint64_t invoked_at;
  std::uint64_t sent_at;
  std::size_t history_index;
  std::uint64_t first_call;
  consensus::ReplyQuorum replies;
};

struct Client {
  ClientId id;
  NodeId address;
  std::uint64_t next_sequence = 1;
  std::uint64_t next_call = 1;
  std::optional<Pending> pending;
  std::uint64_t next_op_at = 0;
  std::uint64_t completed_after_heal = 0;
};

// The colluders' shared plan for the planted fork (Adversary::kFork).
struct Fork {
  bool active = false;
  bool done = false;
  std::uint64_t started_at = 0;
  std::vector<NodeId> half[2];
  std::vector<bft::Block> branch[2];
  std::map<std::pair<Round, bft::BlockId>, std::map<NodeId, crypto::Signature>> votes;
};

class Cluster {
 public:
  explicit Cluster(const BftSimOptions& options)
      : o_(options),
        rng_(options.seed),
        net_(rng_),
        quorum_(*consensus::Quorum::byzantine(static_cast<std::uint32_t>(options.replicas))) {
    const auto n = static_cast<std::uint32_t>(o_.replicas);
    for (std::uint64_t i = 1; i <= n; ++i) {
      const NodeId id{i};
      ids_.push_back(id);
      PHALANX_ASSERT(
          registry_.add({Principal::replica(id), replica_key(id).public_key(), Role::kReplica}));
      Node node;
      node.id = id;
      node.tick_ms = rng_.between(8, 12);
      if (i <= static_cast<std::uint64_t>(o_.byzantine)) {
        node.adversary = o_.adversary;
        if (o_.adversary == Adversary::kMixed) {
          node.adversary = static_cast<Adversary>(rng_.between(1, 9));
        }
      }
      nodes_.push_back(std::move(node));
    }
    for (int c = 1; c <= o_.clients; ++c) {
      const ClientId id{static_cast<std::uint64_t>(c)};
      PHALANX_ASSERT(
          registry_.add({Principal::client(id), client_key(id).public_key(), Role::kClient}));
      Client client;
      client.id = id;
      client.address = NodeId{kClientBase + id.value()};
      clients_.push_back(std::move(client));
    }
  }

  BftSimReport run() {
    for (Node& n : nodes_) start(n);
    net_.set_faults({.loss_per_mille = o_.loss ? 20u : 0u,
                     .duplicate_per_mille = o_.duplicate ? 20u : 0u,
                     .latency_ms_min = 1,
                     .latency_ms_max = 12});
    const std::uint64_t heal_at = o_.safety_ms;
    const std::uint64_t drain_at = heal_at + o_.liveness_ms;
    const std::uint64_t end = drain_at + kDrainMs;
    for (now_ = 0; now_ < end && !violation_; ++now_) {
      if (now_ == heal_at) heal_everything();
      if (now_ == drain_at) check_liveness();
      release_delayed();
      for (auto& d : net_.due(now_)) deliver(d);
      for (Node& n : nodes_) {
        if (now_ % n.tick_ms == 0) tick(n);
      }
      if (now_ % kTickMs == 0 && now_ < heal_at) inject_faults();
      for (Node& n : nodes_) {
        if (!n.up && now_ >= n.down_until && now_ < heal_at) start(n);
        if (n.up && n.fs->power_loss_scheduled() && now_ - n.power_loss_since > kForcePowerLossMs) {
          crash(n, true, "power loss");
        }
      }
      for (Client& c : clients_) client_step(c, now_ < drain_at);
    }
    if (!violation_) check_convergence();
    if (!violation_) {
      const LinearizabilityResult lin = check_kv_linearizable(history_);
      history_checked_ = lin.operations;
      if (!lin.ok) violated("linearizability: " + lin.explanation);
    }
    return report();
  }

 private:
  Node& node(NodeId id) { return nodes_[id.value() - 1]; }
  NodeId random_node() { return ids_[rng_.uniform(ids_.size())]; }
  NodeId leader(Round r) const { return ids_[r.value() % ids_.size()]; }

  void trace(std::string what) { trace_.add(now_, std::move(what)); }

  void violated(std::string what) {
    if (!violation_) violation_ = std::move(what);
  }
  void attack(const char* kind) { ++attacks_[kind]; }

  // ---- Replicas ----

  void start(Node& n) {
    if (!n.fs) {
      n.fs = std::make_unique<SimFileSystem>(rng_.next());
    } else if (n.lost_power) {
      n.fs->power_cycle();
    } else {
      n.fs->restart_process();
    }
    n.fs->cancel_power_loss();
    node::BftReplicaOptions options{
        bft::Config{n.id, ids_, bft::Validators{&registry_, quorum_, kEpoch}, cluster_id()}};
    options.wal.segment_bytes_target = 64 * 1024;
    // Back-off up to 4 base timeouts: a replica that backed off during the
    // faults is live again well inside the liveness bound.
    options.bft.round_timeout_ticks_max = 4 * options.bft.round_timeout_ticks;
    node::BftReplicaHooks hooks;
    if (n.honest()) {
      hooks.committed = [this, id = n.id](const bft::Block& b, std::uint64_t height) {
        on_commit(id, b, height);
      };
      hooks.applied = [this, id = n.id](const consensus::ClientRequest& r, bool executed) {
        on_apply(id, r, executed);
      };
    }
    auto opened = node::BftReplica::open(*n.fs, registry_, std::move(options),
                                         std::make_unique<kv::KvMachine>(), replica_key(n.id),
                                         std::move(hooks));
    if (!opened) {
      return violated(
          fmt::format("node {} failed to recover: {}", n.id.value(), opened.error().to_string()));
    }
    n.replica = std::move(*opened);
    if (!n.key) n.key = replica_key(n.id);
    n.up = true;
    n.lost_power = false;
    ++n.lives;
    trace(fmt::format("start node {} (life {}, round {}, height {})", n.id.value(), n.lives,
                      n.replica->core().round().value(), n.replica->height()));
    after_input(n);
  }

  void crash(Node& n, bool power_loss, const char* why) {
    collect(n);
    n.up = false;
    n.lost_power = power_loss;
    n.replica.reset();
    n.down_until = now_ + rng_.between(20, 1'000);
    net_.forget(n.id, power_loss);
    ++crashes_;
    power_losses_ += power_loss ? 1 : 0;
    trace(fmt::format("crash node {} ({})", n.id.value(), why));
  }

  // Counters of a replica about to go away.
  void collect(const Node& n) {
    if (!n.honest() || !n.replica) return;
    for (const auto& [kind, count] : n.replica->status().rejected) rejected_[kind] += count;
    replays_answered_ += n.replica->replays_answered();
  }

  void after_input(Node& n) {
    consensus::Output out = n.replica->take_output();
    if (n.honest()) {
      for (auto& m : out.messages) net_.send(now_, n.id, m.to, Wire(std::move(m.frame)));
    } else {
      for (auto& m : out.messages) lie(n, m.to, std::move(m.frame));
    }
    for (auto& a : out.answers) {
      if (!n.honest()) lie_to_client(n, a.answer);
      net_.send(now_, n.id, NodeId{a.client}, Wire(std::move(a.answer)));
    }
    if (const std::optional<Error>& failed = n.replica->failure()) {
      if (!n.fs->powered_off()) violated("storage failed: " + failed->to_string());
      crash(n, true, "power lost while writing");
      return;
    }
    max_round_ = std::max(max_round_, n.replica->core().round().value());
  }

  void tick(Node& n) {
    if (!n.up) return;
    n.replica->tick();
    after_input(n);
  }

  // ---- Messages ----

  void deliver(SimNetwork<Wire>::Delivery& d) {
    if (d.to.value() >= kClientBase) {
      if (const auto* answer = std::get_if<consensus::ClientAnswer>(&d.message)) {
        client_answer(clients_[d.to.value() - kClientBase - 1], d.from, *answer);
      }
      return;
    }
    Node& n = node(d.to);
    if (!n.up) return;
    if (const auto* frame = std::get_if<Bytes>(&d.message)) {
      Result<Untrusted<bft::Envelope>> e = bft::decode_envelope(*frame);
      const bool from_liar = !node(d.from).honest();
      if (!e) {
        if (!from_liar) violated("an honest replica sent an undecodable frame");
        return;
      }
      trace(fmt::format("{}->{} {}", d.from.value(), d.to.value(),
                        bft::describe(e->unverified().body)));
      if (!n.honest()) remember(n, d.from, *frame, e->unverified().body);
      if (fork_.active && o_.adversary == Adversary::kFork && !n.honest()) {
        fork_intercept(e->unverified().body);
      }
      const Status received = n.replica->receive(d.from, *frame);
      if (!received && !from_liar) {
        return violated("an honest replica's frame was refused: " + received.error().to_string());
      }
    } else if (auto* call = std::get_if<consensus::ClientCall>(&d.message)) {
      if (!n.honest()) capture(n, call->request);
      n.replica->call(d.from.value(), std::move(*call));
    }
    after_input(n);
  }

  // ---- Liars ----

  // What a liar learns from the frames it receives.
  void remember(Node& n, NodeId from, const Bytes& frame, const bft::Payload& body) {
    if (from != n.id) {
      n.heard.push_back(frame);
      if (n.heard.size() > kRememberedFrames) n.heard.pop_front();
    }
    if (const auto* b = std::get_if<bft::Block>(&body); b && !b->qc.genesis()) {
      if (n.qcs.empty() || n.qcs.back().round < b->qc.round) n.qcs.push_back(b->qc);
      if (n.qcs.size() > kRememberedFrames) n.qcs.pop_front();
    }
  }

  static void capture(Node& n, const Bytes& request) {
    if (auto r = codec::decode<consensus::ClientRequest>(request)) n.captured = std::move(*r);
  }

  void send_as(Node& n, NodeId to, const bft::Payload& body) {
    net_.send(now_, n.id, to, Wire(bft::encode_envelope({n.id, to, body})));
  }

  // A liar's outgoing frame goes through its adversary.
  void lie(Node& n, NodeId to, Bytes frame) {
    Result<Untrusted<bft::Envelope>> decoded = bft::decode_envelope(frame);
    PHALANX_ASSERT(decoded.has_value());
    bft::Payload body = decoded->unverified().body;
    const auto* vote = std::get_if<bft::Vote>(&body);
    const auto* block = std::get_if<bft::Block>(&body);
    const bool own_block = block && block->proposer == n.id;
    switch (n.adversary) {
      case Adversary::kNone: break;
      case Adversary::kSilent:
        attack("silent");
        return;
      case Adversary::kWithhold:
        if (vote) {
          attack("withhold-vote");
          return;
        }
        break;
      case Adversary::kDoubleVote:
        if (vote) {
          bft::Vote second = *vote;
          second.block = crypto::blake2b256(as_view(fmt::format("other {}", now_)));
          security::sign(second, *n.key);
          net_.send(now_, n.id, to, Wire(frame));
          send_as(n, to, second);
          attack("double-vote");
          return;
        }
        break;
      case Adversary::kEquivocate:
        if (own_block) {
          if (std::optional<bft::Block> other = conflicting(n, *block)) {
            if (n.attacked_round != block->round) attack("equivocate");
            n.attacked_round = block->round;
            // The even ids get the other block; the lowest odd id (not
            // the liar's) gets both, and can prove the equivocation.
            if (to.value() % 2 == 0) {
              send_as(n, to, *other);
              return;
            }
            const NodeId both{n.id.value() == 1 ? 3u : 1u};
            if (to == both) {
              net_.send(now_, n.id, to, Wire(frame));
              send_as(n, to, *other);
              return;
            }
          }
        }
        break;
      case Adversary::kStaleQc:
        if (own_block) {
          for (const bft::QuorumCert& qc : n.qcs) {
            if (qc.round.value() + 2 > block->qc.round.value()) break;
            bft::Block stale = *block;
            stale.qc = qc;
            stale.tc.reset();
            security::sign(stale, *n.key);
            if (n.attacked_round != block->round) attack("stale-qc");
            n.attacked_round = block->round;
            send_as(n, to, stale);
            return;
          }
        }
        break;
      case Adversary::kBadRequest:
        if (own_block) {
          bft::Block bad = *block;
          bad.requests.push_back(forged_request(n, block->round));
          security::sign(bad, *n.key);
          if (n.attacked_round != block->round) attack("bad-request");
          n.attacked_round = block->round;
          send_as(n, to, bad);
          return;
        }
        break;
      case Adversary::kTiming: {
        // Just inside the base round timeout (20 ticks of 8-12 ms).
        const std::uint64_t at = now_ + rng_.between(120, 170);
        delayed_.emplace(std::make_pair(at, delayed_seq_++), std::make_tuple(n.id, to, frame));
        attack("timing");
        return;
      }
      case Adversary::kReplay:
        replay(n);
        break;
      case Adversary::kForge:
        forge(n, to, body);
        break;
      case Adversary::kMixed: break;
      case Adversary::kFork:
        if (fork_step(n, body)) return;
        break;
    }
    n.sent.emplace_back(to, frame);
    if (n.sent.size() > kRememberedFrames) n.sent.pop_front();
    net_.send(now_, n.id, to, Wire(std::move(frame)));
  }

  // A validly signed block for the same round that differs from `b`.
  std::optional<bft::Block> conflicting(const Node& n, const bft::Block& b) {
    bft::Block other = b;
    if (!other.requests.empty()) {
      other.requests.pop_back();
    } else if (n.captured) {
      other.requests.push_back(*n.captured);
    } else {
      return std::nullopt;
    }
    security::sign(other, *n.key);
    return other;
  }

  // Three kinds: a captured request with a broken signature, one for a
  // client that does not exist (signed by the liar), one for another cluster.
  consensus::ClientRequest forged_request(const Node& n, Round round) {
    consensus::ClientRequest r{cluster_id(), ClientId{999}, round.value(), to_bytes("forged"), {}};
    switch (round.value() % 3) {
      case 0:
        if (n.captured) {
          r = *n.captured;
          r.signature[0] ^= 1;
          break;
        }
        [[fallthrough]];
      case 1: r.signature = n.key->sign(SignDomain::kClientRequest, security::signed_bytes(r)); break;
      default:
        if (n.captured) r = *n.captured;
        r.cluster[0] ^= 0xff;
        break;
    }
    return r;
  }

  void replay(Node& n) {
    if (!n.sent.empty() && rng_.one_in(4)) {
      const auto& [to, frame] = n.sent[rng_.uniform(n.sent.size())];
      net_.send(now_, n.id, to, Wire(frame));
      attack("replay-own");
    }
    if (!n.heard.empty() && rng_.one_in(4)) {
      // Another replica's signed message, passed off under the liar's name.
      Result<Untrusted<bft::Envelope>> e = bft::decode_envelope(n.heard[rng_.uniform(n.heard.size())]);
      if (e && bft::signed_by(e->unverified().body)) {
        const NodeId to = random_node();
        if (to != n.id) {
          send_as(n, to, e->unverified().body);
          attack("replay-other");
        }
      }
    }
  }

  void forge(Node& n, NodeId to, const bft::Payload& body) {
    if (!bft::signed_by(body) || !rng_.one_in(3)) return;
    bft::Payload forged = body;
    switch (rng_.uniform(3)) {
      case 0:  // a broken signature
        std::visit([](auto& m) {
          if constexpr (requires { m.signature; }) m.signature[5] ^= 0x20;
        }, forged);
        send_as(n, to, forged);
        attack("forge-signature");
        break;
      case 1: {  // in another replica's name, signed with the liar's key
        const NodeId victim = ids_[(n.id.value()) % ids_.size()];
        std::visit([&](auto& m) {
          if constexpr (requires { m.voter; }) m.voter = victim;
          if constexpr (requires { m.author_id; }) m.author_id = victim;
          if constexpr (requires { m.proposer; }) m.proposer = victim;
          if constexpr (requires { m.signature; }) security::sign(m, *n.key);
        }, forged);
        net_.send(now_, n.id, to, Wire(bft::encode_envelope({victim, to, forged})));
        attack("forge-identity");
        break;
      }
      default: {  // the right frame under the liar's name, addressed to someone else
        net_.send(now_, n.id, to, Wire(bft::encode_envelope({n.id, n.id, forged})));
        attack("forge-address");
        break;
      }
    }
  }

  void lie_to_client(Node& n, consensus::ClientAnswer& a) {
    if (a.outcome != consensus::CallOutcome::kDone || !rng_.coin()) return;
    Result<consensus::ClientReply> reply = codec::decode<consensus::ClientReply>(a.reply);
    PHALANX_ASSERT(reply.has_value());
    reply->result = codec::encode(kv::KvReply{kv::KvStatus::kOk, to_bytes("a lie")});
    security::sign(*reply, *n.key);
    a.reply = codec::encode(*reply);
    attack("lying-reply");
  }

  void release_delayed() {
    while (!delayed_.empty() && delayed_.begin()->first.first <= now_) {
      auto [from, to, frame] = std::move(delayed_.begin()->second);
      delayed_.erase(delayed_.begin());
      net_.send(now_, from, to, Wire(std::move(frame)));
    }
  }

  // ---- The planted fork (f+1 colluders) ----

  [[nodiscard]] bool colluder(NodeId id) { return !node(id).honest(); }

  // Returns true if the colluder's frame is swallowed by the plan.
  bool fork_step(Node& n, const bft::Payload& body) {
    if (fork_.active) {
      if (now_ - fork_.started_at > 2'000) {
        fork_.active = false;
        trace("fork: gave up");
      }
      return fork_.active;  // the plan speaks for the colluders
    }
    const auto* b = std::get_if<bft::Block>(&body);
    if (fork_.done || !b || b->proposer != n.id || !colluder(leader(b->round.next())) ||
        !colluder(leader(b->round.next().next()))) {
      return false;
    }
    std::optional<bft::Block> other = conflicting(n, *b);
    if (!other) return false;
    fork_ = Fork{};
    fork_.active = true;
    fork_.started_at = now_;
    std::vector<NodeId> honest;
    for (const Node& x : nodes_) {
      if (x.honest()) honest.push_back(x.id);
    }
    for (std::size_t i = 0; i < honest.size(); ++i) fork_.half[i * 2 / honest.size()].push_back(honest[i]);
    fork_.branch[0].push_back(*b);
    fork_.branch[1].push_back(*other);
    attack("fork");
    trace(fmt::format("fork: round {} split in two", b->round.value()));
    for (int side = 0; side < 2; ++side) fork_send(side);
    return true;
  }

  void fork_send(int side) {
    const bft::Block& b = fork_.branch[side].back();
    for (NodeId to : fork_.half[side]) send_as(node(b.proposer), to, b);
  }

  // Honest votes reaching a colluder, for a block of the fork: with the
  // colluders' own votes they certify each branch, which then grows.
  void fork_intercept(const bft::Payload& body) {
    const auto* v = std::get_if<bft::Vote>(&body);
    if (!v) return;
    for (int side = 0; side < 2; ++side) {
      std::vector<bft::Block>& branch = fork_.branch[side];
      if (branch.size() >= 3 || branch.back().id() != v->block) continue;
      auto& signers = fork_.votes[{v->round, v->block}];
      signers[v->voter] = v->signature;
      for (const Node& c : nodes_) {
        if (c.honest()) continue;
        bft::Vote mine{kEpoch, v->round, v->block, c.id};
        security::sign(mine, *c.key);
        signers[c.id] = mine.signature;
      }
      if (signers.size() < quorum_.size()) continue;
      bft::QuorumCert qc{kEpoch, v->round, v->block, {}};
      for (const auto& [id, sig] : signers) qc.signers.push_back({id, sig});
      const Round next = v->round.next();
      bft::Block b{.epoch = kEpoch, .round = next, .qc = qc, .proposer = leader(next)};
      security::sign(b, *node(b.proposer).key);
      branch.push_back(b);
      trace(fmt::format("fork: side {} certified at round {}", side, v->round.value()));
      fork_send(side);
      if (fork_.branch[0].size() == 3 && fork_.branch[1].size() == 3) {
        fork_.active = false;
        fork_.done = true;
      }
    }
  }

  // ---- Clients ----

  // Every attempt goes to every replica, with the same signed request.
  void client_send(Client& c) {
    c.pending->sent_at = now_;
    const std::uint64_t call = c.next_call++;
    for (NodeId to : ids_) {
      net_.send(now_, c.address, to, Wire(consensus::ClientCall{call, c.pending->request}));
    }
  }

  void client_step(Client& c, bool may_start) {
    if (c.pending) {
      if (now_ - c.pending->sent_at >= kClientTimeoutMs) {
        ++retries_;
        client_send(c);  // same request, same sequence: exactly-once is the replicas' job
      }
      return;
    }
    if (!may_start || now_ < c.next_op_at) return;
    const std::uint64_t sequence = c.next_sequence++;
    kv::KvCommand command = random_kv_command(rng_, c.id, sequence);
    consensus::ClientRequest req{cluster_id(), c.id, sequence, codec::encode(command), {}};
    security::sign(req, client_key(c.id));
    c.pending = Pending{sequence,      codec::encode(req), now_,
                        now_,          history_.size(),    c.next_call,
                        consensus::ReplyQuorum(quorum_.reply_quorum())};
    history_.push_back(KvOperation{now_, std::nullopt, std::move(command), std::nullopt});
    ++ops_invoked_;
    client_send(c);
  }

  void client_answer(Client& c, NodeId from, const consensus::ClientAnswer& answer) {
    if (!c.pending || answer.call_id < c.pending->first_call) return;  // an older operation
    if (answer.outcome != consensus::CallOutcome::kDone) {
      return violated(fmt::format("client {} request {} refused by node {}: {}", c.id.value(),
                                  c.pending->sequence, from.value(), std::string(answer.reply.begin(), answer.reply.end())));
    }
    Result<consensus::ClientReply> reply = codec::decode<consensus::ClientReply>(answer.reply);
    const bool genuine =
        reply &&
        security::verify(registry_, Untrusted<consensus::ClientReply>(*reply)).has_value() &&
        reply->replica == from && reply->cluster == cluster_id() && reply->client == c.id &&
        reply->sequence == c.pending->sequence;
    if (!genuine) {
      ++bad_replies_;
      return;
    }
    const std::optional<Bytes> accepted = c.pending->replies.add(*reply);
    if (!accepted) return;
    ++ops_completed_;
    KvOperation& op = history_[c.pending->history_index];
    op.returned_at = now_;
    Result<kv::KvReply> decoded = codec::decode<kv::KvReply>(*accepted);
    if (!decoded) return violated("f+1 replicas agreed on an undecodable reply");
    op.reply = *decoded;
    if (now_ >= o_.safety_ms) ++c.completed_after_heal;
    c.pending.reset();
    c.next_op_at = now_ + rng_.between(1, 20);
  }

  // ---- Faults (on honest replicas and the network) ----

  void inject_faults() {
    if (o_.crash && rng_.one_in(std::max<std::uint64_t>(1, o_.crash_every_ms / kTickMs))) {
      Node& n = node(random_node());
      if (n.up && n.honest() && !n.fs->power_loss_scheduled()) {
        if (o_.disk && rng_.coin()) {
          n.fs->schedule_power_loss(rng_.uniform(4));
          n.power_loss_since = now_;
        } else {
          crash(n, false, "process killed");
        }
      }
    }
    if (!o_.partition) return;
    if (partition_until_ == 0 &&
        rng_.one_in(std::max<std::uint64_t>(1, o_.partition_every_ms / kTickMs))) {
      partition_until_ = now_ + rng_.between(100, 1'000);
      ++partitions_;
      trace(cut_random_partition(rng_, net_, ids_, [&] { return random_node(); }));
    } else if (partition_until_ != 0 && now_ >= partition_until_) {
      net_.heal();
      partition_until_ = 0;
      trace("partition healed");
    }
  }

  void heal_everything() {
    trace("faults stop: heal, restart everything (the liars keep lying)");
    net_.heal();
    net_.set_faults({});
    partition_until_ = 0;
    for (Node& n : nodes_) {
      if (n.up && n.fs->power_loss_scheduled()) n.fs->cancel_power_loss();
      if (!n.up) start(n);
    }
    heal_height_ = committed_.size();
  }

  // ---- Checks ----

  // Agreement: one block per height among honest replicas.
  void on_commit(NodeId id, const bft::Block& b, std::uint64_t height) {
    ++checks_;
    const bft::BlockId block = b.id();
    if (height <= committed_.size()) {
      if (committed_[height - 1].first != block) {
        violated(fmt::format(
            "agreement: node {} committed block r{} at height {}, node {} committed another (r{})",
            id.value(), b.round.value(), height, committed_[height - 1].second.value(),
            committed_round_[height - 1]));
      }
      return;
    }
    if (height != committed_.size() + 1) {
      return violated(fmt::format("node {} committed height {} with {} known", id.value(), height,
                                  committed_.size()));
    }
    committed_.emplace_back(block, id);
    committed_round_.push_back(b.round.value());
  }

  // Validity: only client-signed requests execute, each at most once per replica.
  void on_apply(NodeId id, const consensus::ClientRequest& r, bool executed) {
    ++checks_;
    auto verified = security::verify(registry_, Untrusted<consensus::ClientRequest>(r));
    if (!verified || verified->role() != Role::kClient || r.cluster != cluster_id()) {
      return violated(fmt::format("validity: node {} applied a request client {} never signed",
                                  id.value(), r.client.value()));
    }
    if (executed && !executed_.insert({id, r.client, r.sequence}).second) {
      violated(fmt::format("validity: node {} executed client {} request {} twice", id.value(),
                           r.client.value(), r.sequence));
    }
  }

  void check_liveness() {
    for (const Client& c : clients_) {
      if (c.pending && now_ - std::max(c.pending->invoked_at, o_.safety_ms) > kLivenessBoundMs) {
        return violated(
            fmt::format("liveness: client {} request {} still pending {} ms after faults stopped",
                        c.id.value(), c.pending->sequence, now_ - o_.safety_ms));
      }
      if (c.completed_after_heal == 0) {
        return violated(fmt::format("liveness: client {} completed nothing after faults stopped",
                                    c.id.value()));
      }
    }
  }

  // Every honest replica is up, committed past where the cluster stood when
  // the faults stopped, and replicas at the same height hold the same state.
  void check_convergence() {
    std::map<std::uint64_t, crypto::Hash32> digests;
    for (const Node& n : nodes_) {
      if (!n.honest()) continue;
      if (!n.up) return violated(fmt::format("node {} is down after the drain", n.id.value()));
      const std::uint64_t h = n.replica->height();
      if (h <= heal_height_) {
        return violated(fmt::format("node {} stayed at height {} (the cluster was at {} at heal)",
                                    n.id.value(), h, heal_height_));
      }
      const crypto::Hash32 d = n.replica->state_machine().digest();
      const auto [it, fresh] = digests.emplace(h, d);
      if (!fresh && it->second != d) {
        return violated(fmt::format("node {} holds another state at height {}", n.id.value(), h));
      }
    }
  }

  BftSimReport report() {
    BftSimReport rep;
    for (const Node& n : nodes_) {
      collect(n);
      if (!n.honest() || !n.replica) continue;
      rep.evidence += n.replica->evidence_count();
    }
    rep.ops_invoked = ops_invoked_;
    rep.ops_completed = ops_completed_;
    rep.retries = retries_;
    rep.height = committed_.size();
    rep.round = max_round_;
    rep.crashes = crashes_;
    rep.power_losses = power_losses_;
    rep.partitions = partitions_;
    rep.messages_sent = net_.stats().sent;
    rep.messages_dropped = net_.stats().dropped;
    rep.attacks = attacks_;
    rep.rejected = rejected_;
    rep.replays_answered = replays_answered_;
    rep.bad_replies = bad_replies_;
    rep.checks = checks_;
    rep.history_checked = history_checked_;
    rep.violation = violation_;
    rep.trace_tail = trace_.tail();
    rep.trace_hash = trace_.finish();
    return rep;
  }

  BftSimOptions o_;
  Random rng_;
  SimNetwork<Wire> net_;
  security::TrustRegistry registry_;
  consensus::Quorum quorum_;
  std::vector<NodeId> ids_;
  std::vector<Node> nodes_;
  std::vector<Client> clients_;
  std::map<std::pair<std::uint64_t, std::uint64_t>, std::tuple<NodeId, NodeId, Bytes>> delayed_;
  std::uint64_t delayed_seq_ = 0;
  Fork fork_;
  std::vector<std::pair<bft::BlockId, NodeId>> committed_;  // by height - 1: block, first committer
  std::vector<std::uint64_t> committed_round_;
  std::set<std::tuple<NodeId, ClientId, std::uint64_t>> executed_;
  std::vector<KvOperation> history_;
  std::map<std::string, std::uint64_t> attacks_;
  std::map<std::string, std::uint64_t> rejected_;
  std::optional<std::string> violation_;
  TraceLog trace_{kTraceTail};
  std::uint64_t now_ = 0;
  std::uint64_t partition_until_ = 0;
  std::uint64_t heal_height_ = 0;
  std::uint64_t max_round_ = 0;
  std::uint64_t ops_invoked_ = 0;
  std::uint64_t ops_completed_ = 0;
  std::uint64_t retries_ = 0;
  std::uint64_t crashes_ = 0;
  std::uint64_t power_losses_ = 0;
  std::uint64_t partitions_ = 0;
  std::uint64_t replays_answered_ = 0;
  std::uint64_t bad_replies_ = 0;
  std::uint64_t checks_ = 0;
  std::uint64_t history_checked_ = 0;
};

}  // namespace

BftSimReport run_bft_sim(const BftSimOptions& options) {
  const crypto::ScopedVerifyMemo memo;
  return Cluster(options).run();
}

}  // namespace phalanx::sim
