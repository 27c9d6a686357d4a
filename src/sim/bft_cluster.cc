#include <fmt/format.h>

#include <limits>

#include "apps/evidence/evidence_machine.h"
#include "apps/kv/kv_machine.h"
#include "node/audit.h"
#include "security/verify.h"
#include "sim/bft_cluster_impl.h"

namespace phalanx::sim {
namespace bft_detail {

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

Cluster::Cluster(const BftSimOptions& options)
    : o_(options),
      rng_(options.seed),
      net_(rng_),
      quorum_(*consensus::Quorum::byzantine(static_cast<std::uint32_t>(options.replicas))),
      service_(options.safety_ms / 10, options.safety_ms) {
  const auto n = static_cast<std::uint32_t>(o_.replicas);
  for (std::uint64_t i = 1; i <= n; ++i) {
    const NodeId id{i};
    ids_.push_back(id);
    PHALANX_ASSERT(
        registry_.add({Principal::replica(id), replica_key(id).public_key(), Role::kReplica}));
    Node node;
    node.id = id;
    node.tick_ms = rng_.between(8, kReplicaTickMsMax);
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
    const Role role = o_.app == SimApp::kEvidence ? Role::kEvidenceSource : Role::kClient;
    PHALANX_ASSERT(registry_.add({Principal::client(id), client_key(id).public_key(), role}));
    Client client;
    client.id = id;
    client.address = NodeId{kClientBase + id.value()};
    clients_.push_back(std::move(client));
  }
  outages_ = OutageSchedule(o_.unavailable_as, o_.seed, ids_, o_.unavailable, service_.from_ms(),
                            service_.to_ms());
}

BftSimReport Cluster::run() {
  for (Node& n : nodes_) start(n);
  net_.set_faults({.loss_per_mille = o_.loss ? 20u : 0u,
                   .duplicate_per_mille = o_.duplicate ? 20u : 0u,
                   .latency_ms_min = 1,
                   .latency_ms_max = 12});
  const std::uint64_t heal_at = o_.safety_ms;
  const std::uint64_t drain_at = heal_at + o_.liveness_ms;
  const std::uint64_t end = drain_at + kDrainMs;
  for (now_ = 0; now_ < end && !violation_; ++now_) {
    if (o_.unavailable_as != Outage::kNone) step_unavailability();
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

void Cluster::violated(std::string what) {
  if (!violation_) violation_ = std::move(what);
}

void Cluster::start(Node& n) {
  if (!n.fs) {
    n.fs = std::make_unique<SimFileSystem>(rng_.next());
  } else if (n.lost_power) {
    n.fs->power_cycle();
  } else {
    n.fs->restart_process();
  }
  n.fs->cancel_power_loss();
  n.fs->set_faults({});
  n.disk_faults_until = 0;
  node::BftReplicaOptions options{
      bft::Config{n.id, ids_, bft::Validators{&registry_, quorum_, kEpoch}, cluster_id()}};
  options.wal.segment_bytes_target = 64 * 1024;
  // Back-off up to 4 base timeouts: a replica that backed off during the
  // faults is live again well inside the liveness bound.
  options.bft.round_timeout_ticks = kRoundTimeoutTicks;
  options.bft.round_timeout_ticks_max = 4 * kRoundTimeoutTicks;
  if (o_.node_pacing) node::BftPacing{}.apply(std::chrono::milliseconds(kTickMs), options.bft);
  options.checkpoint_interval = o_.checkpoint_interval;
  options.snapshot_chunk_bytes = kSnapshotChunkBytes;
  options.bft.committed_blocks_kept = o_.blocks_kept;
  switch (o_.TEST_bug) {
    case BftPlantedBug::kNone: break;
    case BftPlantedBug::kRotationIgnoresReputation:
      options.bft.schedule.failures_to_skip = std::numeric_limits<std::size_t>::max();
      options.bft.schedule.absent_skipped = false;
      break;
    case BftPlantedBug::kReadmitsSilent: options.bft.schedule.absent_skipped = false; break;
    case BftPlantedBug::kRotationReindexes: options.bft.schedule.rotation_continues = false; break;
    case BftPlantedBug::kInstallKeepsCoreSchedule:
      options.TEST_install_keeps_core_schedule = true;
      break;
  }
  node::BftReplicaHooks hooks;
  if (n.honest()) {
    hooks.committed = [this, id = n.id](const bft::Block& b, std::uint64_t height,
                                        std::span<const NodeId> failed_leaders) {
      on_commit(id, b, height, failed_leaders);
    };
    hooks.applied = [this, id = n.id](const consensus::ClientRequest& r, bool executed) {
      on_apply(id, r, executed);
    };
    hooks.certified = [this, id = n.id](const bft::CheckpointCert& c) { on_certified(id, c); };
    hooks.diverged = [this, id = n.id](const bft::Divergence& d) { on_diverged(id, d); };
    hooks.installed = [this, id = n.id](const bft::CheckpointCert& c) { on_installed(id, c); };
  }
  std::unique_ptr<consensus::StateMachine> app;
  if (o_.app == SimApp::kEvidence) {
    app = std::make_unique<evidence::EvidenceMachine>(&registry_, cluster_id(),
                                                      evidence::EvidenceConfig{});
  } else {
    app = std::make_unique<kv::KvMachine>();
  }
  auto opened = node::BftReplica::open(*n.fs, registry_, std::move(options), std::move(app),
                                       replica_key(n.id), std::move(hooks));
  if (!opened) {
    return violated(
        fmt::format("node {} failed to recover: {}", n.id.value(), opened.error().to_string()));
  }
  n.replica = std::move(*opened);
  if (!n.key) n.key = replica_key(n.id);
  n.up = true;
  n.lost_power = false;
  ++n.lives;
  if (outage_node_ == n.id) {
    outage_lag_ =
        committed_.size() - std::min<std::uint64_t>(committed_.size(), n.replica->height());
    outage_node_.reset();
  }
  trace(fmt::format("start node {} (life {}, round {}, height {})", n.id.value(), n.lives,
                    n.replica->core().round().value(), n.replica->height()));
  after_input(n);
}

void Cluster::crash(Node& n, bool power_loss, const char* why) {
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

void Cluster::collect(const Node& n) {
  if (!n.honest() || !n.replica) return;
  for (const auto& [kind, count] : n.replica->status().rejected) rejected_[kind] += count;
  replays_answered_ += n.replica->replays_answered();
  snapshots_installed_ += n.replica->snapshots_installed();
  chunks_served_ += n.replica->snapshot_chunks_served();
}

void Cluster::after_input(Node& n) {
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
    if (n.disk_faults_until != 0 && !n.fs->powered_off()) {
      // An injected EIO or ENOSPC: the replica stopped before anything it
      // failed to persist left it; it restarts from what its disk kept.
      trace(fmt::format("node {} stopped: {}", n.id.value(), failed->to_string()));
      ++stopped_on_io_;
      crash(n, false, "stopped on an I/O error");
      if (now_ >= o_.safety_ms) start(n);
      return;
    }
    if (!n.fs->powered_off()) violated("storage failed: " + failed->to_string());
    crash(n, true, "power lost while writing");
    return;
  }
  max_round_ = std::max(max_round_, n.replica->core().round().value());
}

void Cluster::tick(Node& n) {
  if (!n.up || n.paused) return;
  n.replica->tick();
  after_input(n);
}

void Cluster::deliver(SimNetwork<Wire>::Delivery& d) {
  if (d.to.value() >= kClientBase) {
    if (const auto* answer = std::get_if<consensus::ClientAnswer>(&d.message)) {
      client_answer(clients_[d.to.value() - kClientBase - 1], d.from, *answer);
    }
    return;
  }
  Node& n = node(d.to);
  if (!n.up) return;
  if (n.paused) {
    n.held.push_back(std::move(d));
    return;
  }
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

void Cluster::client_send(Client& c) {
  c.pending->sent_at = now_;
  const std::uint64_t call = c.next_call++;
  for (NodeId to : ids_) {
    net_.send(now_, c.address, to,
              Wire(consensus::ClientCall{call, Principal::client(c.id), c.pending->request}));
  }
}

void Cluster::client_step(Client& c, bool may_start) {
  if (c.pending) {
    if (now_ - c.pending->sent_at >= kClientTimeoutMs) {
      ++retries_;
      client_send(c);  // same request, same sequence: exactly-once is the replicas' job
    }
    return;
  }
  if (!may_start || now_ < c.next_op_at) return;
  const std::uint64_t sequence = c.next_sequence++;
  Bytes operation;
  if (o_.app == SimApp::kEvidence) {
    c.evidence = next_evidence_command(c, sequence);
    operation = codec::encode(*c.evidence);
  } else {
    kv::KvCommand command = random_kv_command(rng_, c.id, sequence);
    operation = codec::encode(command);
    history_.push_back(KvOperation{now_, std::nullopt, std::move(command), std::nullopt});
  }
  consensus::ClientRequest req{cluster_id(), c.id, sequence, std::move(operation), {}};
  security::sign(req, client_key(c.id));
  c.pending = Pending{sequence,
                      codec::encode(req),
                      now_,
                      now_,
                      history_.size() - (o_.app == SimApp::kKv ? 1 : 0),
                      c.next_call,
                      consensus::ReplyQuorum(quorum_.reply_quorum())};
  ++ops_invoked_;
  client_send(c);
}

void Cluster::client_answer(Client& c, NodeId from, const consensus::ClientAnswer& answer) {
  if (!c.pending || answer.call_id < c.pending->first_call) return;  // an older operation
  if (answer.outcome != consensus::CallOutcome::kDone) {
    return violated(fmt::format("client {} request {} refused by node {}: {}", c.id.value(),
                                c.pending->sequence, from.value(),
                                std::string(answer.reply.begin(), answer.reply.end())));
  }
  Result<consensus::ClientReply> reply = codec::decode<consensus::ClientReply>(answer.reply);
  const bool genuine =
      reply && security::verify(registry_, Untrusted<consensus::ClientReply>(*reply)).has_value() &&
      reply->replica == from && reply->cluster == cluster_id() && reply->client == c.id &&
      reply->sequence == c.pending->sequence;
  if (!genuine) {
    ++bad_replies_;
    return;
  }
  const std::optional<Bytes> accepted = c.pending->replies.add(*reply);
  if (!accepted) return;
  ++ops_completed_;
  if (o_.app == SimApp::kEvidence) {
    check_evidence_reply(c, *accepted);
    if (now_ >= o_.safety_ms) ++c.completed_after_heal;
    service_.returned(c.pending->invoked_at, now_);
    c.pending.reset();
    c.next_op_at = now_ + rng_.between(1, 20);
    return;
  }
  KvOperation& op = history_[c.pending->history_index];
  op.returned_at = now_;
  Result<kv::KvReply> decoded = codec::decode<kv::KvReply>(*accepted);
  if (!decoded) return violated("f+1 replicas agreed on an undecodable reply");
  op.reply = *decoded;
  if (now_ >= o_.safety_ms) ++c.completed_after_heal;
  service_.returned(c.pending->invoked_at, now_);
  c.pending.reset();
  c.next_op_at = now_ + rng_.between(1, 20);
}

evidence::EvidenceCommand Cluster::next_evidence_command(Client& c, std::uint64_t sequence) {
  evidence::EvidenceCommand command{c.id, sequence};
  static const std::string kHypotheses[] = {"alpha", "beta"};
  const std::uint64_t pick = rng_.uniform(8);
  if (pick == 0 && c.chain.sequence > 0) {
    command.op = evidence::EvidenceOp::kProof;
    command.proof_source = c.id;
    command.proof_sequence = rng_.between(1, c.chain.sequence);
  } else if (pick == 1) {
    command.op = evidence::EvidenceOp::kPosterior;
    command.hypothesis = kHypotheses[rng_.uniform(2)];
  } else {
    // The next item on this source's chain: ±2 nats in steps of 1e-3.
    command.op = evidence::EvidenceOp::kSubmit;
    const auto llr = static_cast<evidence::Units>(rng_.uniform(4'001)) - 2'000;
    evidence::EvidenceItem item{cluster_id(),
                                c.id,
                                kHypotheses[rng_.uniform(2)],
                                llr * (evidence::kUnitsPerNat / 1'000),
                                c.chain.sequence + 1,
                                c.chain.head,
                                c.chain.time_ms + static_cast<std::int64_t>(rng_.uniform(3)),
                                {}};
    security::sign(item, client_key(c.id));
    command.item = std::move(item);
  }
  return command;
}

// An honest source's chained item must be admitted, and every proof it is
// given must lead from the item it asked for to the digest f+1 replicas
// signed.
void Cluster::check_evidence_reply(Client& c, const Bytes& accepted) {
  ++checks_;
  Result<evidence::EvidenceReply> reply = codec::decode<evidence::EvidenceReply>(accepted);
  if (!reply) return violated("evidence: f+1 replicas agreed on an undecodable reply");
  const evidence::EvidenceCommand& sent = *c.evidence;
  switch (sent.op) {
    case evidence::EvidenceOp::kSubmit:
      if (reply->status != evidence::EvidenceStatus::kOk) {
        return violated(fmt::format("evidence: source {} item {} refused: {} ({})", c.id.value(),
                                    sent.item->sequence, evidence::status_name(reply->status),
                                    reply->detail));
      }
      c.chain = {sent.item->sequence, sent.item->hash(), sent.item->timestamp_ms};
      ++evidence_items_;
      return;
    case evidence::EvidenceOp::kProof:
      if (reply->status != evidence::EvidenceStatus::kOk || !reply->proof ||
          reply->proof->item.source != c.id || reply->proof->item.sequence != sent.proof_sequence ||
          !evidence::verify_proof(*reply->proof)) {
        return violated(fmt::format("evidence: source {} got no valid proof of its item {}: {}",
                                    c.id.value(), sent.proof_sequence,
                                    evidence::status_name(reply->status)));
      }
      ++proofs_verified_;
      return;
    default:
      if (reply->status != evidence::EvidenceStatus::kOk &&
          reply->status != evidence::EvidenceStatus::kInsufficientEvidence) {
        return violated(fmt::format("evidence: a posterior query failed: {}",
                                    evidence::status_name(reply->status)));
      }
      return;
  }
}

void Cluster::inject_faults() {
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
  if (o_.disk && rng_.one_in(std::max<std::uint64_t>(1, o_.crash_every_ms / kTickMs))) {
    inject_disk_fault();
  }
  if (o_.outage_ms != 0 && !outage_done_ && now_ >= o_.safety_ms / 10) {
    // The last replica: the first it asks for a snapshot is replica 1, a liar if there is one.
    Node& n = nodes_.back();
    if (n.up && n.honest() && !n.fs->power_loss_scheduled()) {
      crash(n, false, "taken down for a long outage");
      outage_node_ = n.id;
      n.down_until = now_ + o_.outage_ms;
      outage_done_ = true;
    }
  }
  for (Node& n : nodes_) {
    if (n.up && n.disk_faults_until != 0 && now_ >= n.disk_faults_until) {
      n.fs->set_faults({});
      n.disk_faults_until = 0;
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

void Cluster::inject_disk_fault() {
  Node& n = node(random_node());
  if (!n.up || !n.honest() || n.disk_faults_until != 0 || n.fs->power_loss_scheduled()) return;
  sim::DiskFaults faults;
  if (rng_.coin()) {
    faults.write_eio_one_in = 30;
    faults.sync_eio_one_in = 4;
    trace(fmt::format("disk of node {}: EIO on writes and syncs", n.id.value()));
  } else {
    faults.capacity_bytes = n.fs->used_bytes() + rng_.uniform(16 * 1024);
    trace(fmt::format("disk of node {}: full (ENOSPC)", n.id.value()));
  }
  n.fs->set_faults(faults);
  n.disk_faults_until = now_ + rng_.between(50, 500);
  ++disk_faults_;
}

void Cluster::step_unavailability() {
  std::optional<std::vector<NodeId>> out = outages_.starting(now_);
  if (!out) return;
  for (NodeId id : out_now_) resume(node(id));
  silent_failures_.clear();
  out_now_ = std::move(*out);
  for (NodeId id : out_now_) {
    if (std::find(unavailable_.begin(), unavailable_.end(), id) == unavailable_.end()) {
      unavailable_.push_back(id);
    }
    Node& n = node(id);
    trace(fmt::format("node {} unavailable ({})", id.value(), outage_name(o_.unavailable_as)));
    switch (o_.unavailable_as) {
      case Outage::kNone: break;
      case Outage::kCrash:
        if (n.up) crash(n, false, "unavailable");
        n.down_until = o_.safety_ms;
        break;
      case Outage::kPause:
      case Outage::kPauseInTurn: n.paused = true; break;
      case Outage::kPartition: {
        std::vector<NodeId> others = ids_;
        for (const Client& c : clients_) others.push_back(c.address);
        isolate(net_, id, others);
        break;
      }
    }
  }
}

void Cluster::resume(Node& n) {
  if (!n.paused) return;
  n.paused = false;
  trace(fmt::format("node {} resumes ({} messages held)", n.id.value(), n.held.size()));
  std::deque<SimNetwork<Wire>::Delivery> held = std::move(n.held);
  n.held.clear();
  for (SimNetwork<Wire>::Delivery& d : held) deliver(d);
}

void Cluster::heal_everything() {
  trace("faults stop: heal, restart everything (the liars keep lying)");
  for (const Client& c : clients_) {
    if (c.pending) service_.still_pending(c.pending->invoked_at);
  }
  for (Node& n : nodes_) resume(n);
  out_now_.clear();
  net_.heal();
  net_.set_faults({});
  partition_until_ = 0;
  for (Node& n : nodes_) {
    if (n.up && n.fs->power_loss_scheduled()) n.fs->cancel_power_loss();
    if (n.up) {
      n.fs->set_faults({});
      n.disk_faults_until = 0;
    }
    if (!n.up) start(n);
  }
  heal_height_ = committed_.size();
}

void Cluster::on_commit(NodeId id, const bft::Block& b, std::uint64_t height,
                        std::span<const NodeId> failed_leaders) {
  ++checks_;
  for (const bft::Accusation& a : b.accusations) {
    if (node(a.accused()).honest()) {
      return violated(
          fmt::format("accountability: node {} committed an accusation of honest node {}",
                      id.value(), a.accused().value()));
    }
    excluded_.insert(a.accused().value());
  }
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
  // The service check: failed rounds led by a replica that is out now.
  if (!service_.inside(now_)) return;
  for (NodeId leader : failed_leaders) {
    if (std::find(out_now_.begin(), out_now_.end(), leader) != out_now_.end()) {
      service_.silent_leader_failed(++silent_failures_[leader]);
    }
  }
}

void Cluster::on_certified(NodeId id, const bft::CheckpointCert& c) {
  ++checks_;
  const auto [it, fresh] = certified_.try_emplace(c.height, c.root);
  if (!fresh && it->second != c.root) {
    violated(fmt::format(
        "checkpoint agreement: node {} holds a certificate for another root at height {}",
        id.value(), c.height));
  }
}

void Cluster::on_installed(NodeId id, const bft::CheckpointCert& c) {
  trace(fmt::format("node {} installed the certified snapshot at height {}", id.value(), c.height));
  ++checks_;
  const auto [it, fresh] = certified_.try_emplace(c.height, c.root);
  if (!fresh && it->second != c.root) {
    violated(
        fmt::format("state transfer: node {} installed a state at height {} whose root is "
                    "not the one certified there",
                    id.value(), c.height));
  }
}

void Cluster::on_diverged(NodeId id, const bft::Divergence& d) {
  ++checks_;
  if (node(d.replica).honest()) {
    return violated(fmt::format("checkpoint: node {} reports honest node {} diverged at height {}",
                                id.value(), d.replica.value(), d.certified.height));
  }
  diverged_.insert(d.replica.value());
}

void Cluster::on_apply(NodeId id, const consensus::ClientRequest& r, bool executed) {
  ++checks_;
  auto verified = security::verify(registry_, Untrusted<consensus::ClientRequest>(r));
  const Role role = o_.app == SimApp::kEvidence ? Role::kEvidenceSource : Role::kClient;
  if (!verified || verified->role() != role || r.cluster != cluster_id()) {
    return violated(fmt::format("validity: node {} applied a request client {} never signed",
                                id.value(), r.client.value()));
  }
  if (executed && !executed_.insert({id, r.client, r.sequence}).second) {
    violated(fmt::format("validity: node {} executed client {} request {} twice", id.value(),
                         r.client.value(), r.sequence));
  }
}

void Cluster::check_liveness() {
  for (const Client& c : clients_) {
    if (c.pending && now_ - std::max(c.pending->invoked_at, o_.safety_ms) > kLivenessBoundMs) {
      return violated(
          fmt::format("liveness: client {} request {} still pending {} ms after faults stopped",
                      c.id.value(), c.pending->sequence, now_ - o_.safety_ms));
    }
    if (c.completed_after_heal == 0) {
      return violated(
          fmt::format("liveness: client {} completed nothing after faults stopped", c.id.value()));
    }
  }
}

void Cluster::check_convergence() {
  std::map<std::uint64_t, crypto::Hash32> digests;
  for (const Node& n : nodes_) {
    if (!n.honest()) continue;
    if (!n.up) return violated(fmt::format("node {} is down after the drain", n.id.value()));
    const std::uint64_t h = n.replica->height();
    if (h <= heal_height_) {
      return violated(fmt::format("node {} stayed at height {} (the cluster was at {} at heal)",
                                  n.id.value(), h, heal_height_));
    }
    // What `phalanx audit` would say of its data directory: snapshot and
    // committed-block WAL meet, every checksum and hash chain holds.
    Result<node::AuditReport> audit = node::audit_data_dir(*n.fs, "/data");
    if (!audit || !audit->findings.empty()) {
      return violated(
          fmt::format("node {}'s data directory fails its audit: {}", n.id.value(),
                      audit ? audit->findings.front().problem : audit.error().to_string()));
    }
    const crypto::Hash32 d = n.replica->state_machine().digest();
    const auto [it, fresh] = digests.emplace(h, d);
    if (!fresh && it->second != d) {
      return violated(fmt::format("node {} holds another state at height {}", n.id.value(), h));
    }
  }
}

BftSimReport Cluster::report() {
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
  rep.excluded = excluded_;
  rep.checkpoints = certified_.size();
  rep.diverged = diverged_;
  rep.replays_answered = replays_answered_;
  rep.bad_replies = bad_replies_;
  rep.evidence_items = evidence_items_;
  rep.disk_faults = disk_faults_;
  rep.stopped_on_io = stopped_on_io_;
  rep.proofs_verified = proofs_verified_;
  rep.snapshots_installed = snapshots_installed_;
  rep.outage_lag = outage_lag_;
  rep.chunks_served = chunks_served_;
  rep.checks = checks_;
  rep.history_checked = history_checked_;
  rep.unavailable = unavailable_;
  rep.service = service_;
  rep.violation = violation_;
  rep.trace_tail = trace_.tail();
  rep.trace_hash = trace_.finish();
  return rep;
}

}  // namespace bft_detail

BftSimReport run_bft_sim(const BftSimOptions& options) {
  const crypto::ScopedVerifyMemo memo;
  return bft_detail::Cluster(options).run();
}

BftSimOptions bft_service_options(std::uint64_t seed, int replicas, Outage as) {
  BftSimOptions o;
  o.seed = seed;
  o.replicas = replicas;
  o.crash = o.disk = o.partition = o.loss = o.duplicate = false;
  o.clients = 4;
  o.unavailable_as = as;
  o.unavailable = as == Outage::kNone ? 0 : (replicas - 1) / 3;
  if (as == Outage::kPauseInTurn) o.safety_ms = kPauseInTurnPhaseMs;
  return o;
}

ServiceVerdict check_bft_service(const BftSimOptions& outage) {
  BftSimOptions baseline = outage;
  baseline.unavailable_as = Outage::kNone;
  baseline.unavailable = 0;
  const BftSimReport healthy = run_bft_sim(baseline);
  const BftSimReport degraded = run_bft_sim(outage);
  // In ms of the slowest replica clock (ticks of up to kReplicaTickMsMax).
  const std::uint64_t round_timeout_ticks =
      outage.node_pacing
          ? static_cast<std::uint64_t>(node::BftPacing{}.round_timeout /
                                       std::chrono::milliseconds(bft_detail::kTickMs))
          : bft_detail::kRoundTimeoutTicks;
  const std::uint64_t round_timeout_ms = round_timeout_ticks * bft_detail::kReplicaTickMsMax;
  // Paused in turn, each turn's start costs the newcomer's slot while the
  // replica that resumed catches up before its vote completes a quorum
  // again: two failed rounds in a row, the second backed off.
  const std::uint64_t timeouts = outage.unavailable_as == Outage::kPauseInTurn ? 3 : 2;
  ServiceVerdict v = judge_service(healthy.service, degraded.service, timeouts * round_timeout_ms);
  if (!v.violation && !healthy.ok()) v.violation = "baseline: " + *healthy.violation;
  if (!v.violation && !degraded.ok()) v.violation = *degraded.violation;
  return v;
}

}  // namespace phalanx::sim
