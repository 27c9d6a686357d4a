#include "sim/raft_cluster.h"

#include <fmt/format.h>

#include <deque>
#include <map>
#include <memory>
#include <set>

#include "apps/kv/kv_machine.h"
#include "consensus/common/client_request.h"
#include "consensus/raft/wire.h"
#include "node/raft_replica.h"
#include "sim/linearizability.h"
#include "sim/network.h"
#include "sim/raft_checkers.h"
#include "sim/sim_file_system.h"
#include "sim/sim_support.h"

namespace phalanx::sim {
namespace {

constexpr std::uint64_t kTickMs = kSimTickMs;
constexpr std::uint64_t kClientTimeoutMs = 300;
constexpr std::uint64_t kLivenessBoundMs = 4'000;
constexpr std::uint64_t kDrainMs = 2'000;
constexpr std::uint64_t kClientBase = 1000;  // network ids of clients
constexpr std::uint64_t kForcePowerLossMs = 100;
constexpr std::size_t kTraceTail = 40;
constexpr int kSpareNodes = 2;

// Between replicas: encoded frames, decoded by the receiving replica.
using Wire = std::variant<Bytes, consensus::ClientCall, consensus::ClientAnswer>;

// A node slot's place in the cluster's life.
enum class Slot : std::uint8_t {
  kSpare,    // not started yet: a machine waiting to join
  kActive,   // running (a member, or started to join)
  kLeaving,  // removed from the voters; shut down once that is committed
  kRemoved,  // shut down for good
};

struct Replica {
  NodeId id;
  Slot slot = Slot::kSpare;
  std::unique_ptr<SimFileSystem> fs;
  std::unique_ptr<node::RaftReplica> replica;  // null while down
  std::optional<storage::WalFlush> flush;      // background sync: on the "disk thread"
  std::uint64_t flush_due = 0;
  std::optional<node::SnapshotJob> snapshot_job;  // background sync: being written
  std::uint64_t snapshot_due = 0;
  bool up = false;
  bool lost_power = false;
  std::uint64_t down_until = 0;
  std::uint64_t power_loss_since = 0;
  std::uint64_t kill_at = 0;   // 0: no kill scheduled
  std::uint64_t tick_ms = 10;  // its clock: replicas' clocks drift apart
  // Paused (service check): not ticked; what reaches it waits until the heal.
  bool paused = false;
  std::deque<SimNetwork<Wire>::Delivery> held;
  Term led_term;  // the last term this replica was leader in
  std::uint64_t lives = 0;
};

struct Pending {
  std::uint64_t sequence;
  Bytes command;
  std::uint64_t invoked_at;
  std::uint64_t sent_at;
  std::size_t history_index;     // its entry in the history for the linearizability check
  std::uint64_t first_call = 0;  // call ids first_call..call are this operation's attempts
  std::uint64_t call = 0;
  std::uint64_t resend_at = 0;  // after a NotLeader answer (0: none due)
};

struct Client {
  ClientId id;
  NodeId address;
  NodeId target;
  std::uint64_t next_sequence = 1;
  std::uint64_t next_call = 1;
  std::optional<Pending> pending;
  std::uint64_t next_op_at = 0;
  std::uint64_t completed_after_heal = 0;
  // Replicas an attempt timed out on, not asked again until they answer
  // (as the client library does).
  std::set<NodeId> unanswered;
};

class Cluster {
 public:
  explicit Cluster(const RaftSimOptions& options)
      : o_(options),
        rng_(options.seed),
        net_(rng_),
        service_(options.safety_ms / 10, options.safety_ms) {
    std::vector<NodeId> voters;
    std::vector<NodeId> nodes;
    const int spares = o_.membership ? kSpareNodes : 0;
    for (int i = 1; i <= o_.replicas + spares; ++i) {
      nodes.push_back(NodeId{static_cast<std::uint64_t>(i)});
      if (i <= o_.replicas) voters.push_back(nodes.back());
    }
    for (NodeId id : nodes) {
      crypto::Seed seed;
      seed[0] = static_cast<std::uint8_t>(id.value());
      PHALANX_ASSERT(
          registry_.add({Principal::replica(id), crypto::KeyPair::from_seed(seed).public_key(),
                         phalanx::Role::kReplica}));
      Replica r;
      r.id = id;
      r.slot = id.value() <= static_cast<std::uint64_t>(o_.replicas) ? Slot::kActive : Slot::kSpare;
      r.tick_ms = rng_.between(8, 12);
      replicas_.push_back(std::move(r));
    }
    config_.voters = voters;
    // Snapshot policy: how often, how much log to keep behind a snapshot
    // (little: followers that fall behind need InstallSnapshot), chunk size.
    static constexpr std::uint64_t kSnapshotEvery[] = {8, 20, 50, 100'000};
    static constexpr std::uint64_t kRetain[] = {0, 3, 20};
    static constexpr std::uint32_t kChunkBytes[] = {48, 200, 4096};
    snapshot_every_ = kSnapshotEvery[rng_.uniform(4)];
    compact_retain_ = kRetain[rng_.uniform(3)];
    chunk_bytes_ = kChunkBytes[rng_.uniform(3)];
    // Small batches and windows in some runs: more interleavings of
    // replication with elections and crashes.
    if (rng_.coin()) {
      config_.entries_per_message_max = static_cast<std::uint32_t>(rng_.between(1, 4));
      config_.inflight_messages_max = static_cast<std::uint32_t>(rng_.between(1, 4));
    }
    if (o_.unavailable_as != Outage::kNone) {
      // A service run measures what ships: a replica back from a pause
      // catches up with the node's batches, not one entry per round trip.
      config_.entries_per_message_max = raft::Config{}.entries_per_message_max;
      config_.inflight_messages_max = raft::Config{}.inflight_messages_max;
    }
    config_.TEST_commit_previous_term_entries =
        o_.TEST_bug == PlantedBug::kCommitPreviousTermByCounting;
    config_.TEST_skip_conflict_truncation = o_.TEST_bug == PlantedBug::kSkipConflictTruncation;
    config_.TEST_read_without_quorum = o_.TEST_bug == PlantedBug::kReadWithoutQuorum;
    config_.TEST_commit_waits_for_all = o_.TEST_bug == PlantedBug::kCommitWaitsForAll;
    // With check-quorum a deposed leader mostly steps down before a new one
    // exists, which masks unconfirmed reads; turn it off so they show.
    if (config_.TEST_read_without_quorum) config_.check_quorum = false;
    for (int c = 0; c < o_.clients; ++c) {
      const auto n = static_cast<std::uint64_t>(c + 1);
      Client client;
      client.id = ClientId{n};
      client.address = NodeId{kClientBase + n};
      crypto::Seed seed;  // a client's key: unused, the channel proves it
      seed[1] = static_cast<std::uint8_t>(n);
      PHALANX_ASSERT(
          registry_.add({Principal::client(client.id),
                         crypto::KeyPair::from_seed(seed).public_key(), phalanx::Role::kClient}));
      client.target = random_active();
      clients_.push_back(std::move(client));
    }
  }

  RaftSimReport run() {
    for (Replica& r : replicas_) {
      if (r.slot == Slot::kActive) start(r);
    }
    net_.set_faults({.loss_per_mille = o_.loss ? 20u : 0u,
                     .duplicate_per_mille = o_.duplicate ? 20u : 0u,
                     .latency_ms_min = 1,
                     .latency_ms_max = 12});
    const std::uint64_t heal_at = o_.safety_ms;
    const std::uint64_t drain_at = heal_at + o_.liveness_ms;
    const std::uint64_t end = drain_at + kDrainMs;
    for (now_ = 0; now_ < end && !checker_.violation() && !checker_violation_; ++now_) {
      if (o_.unavailable_as != Outage::kNone) step_unavailability();
      if (now_ == heal_at) heal_everything();
      if (now_ == drain_at) check_liveness();
      for (auto& d : net_.due(now_)) deliver(d);
      for (Replica& r : replicas_) {
        if (now_ % r.tick_ms == 0) tick(r);
      }
      if (o_.batch) flush_all();
      for (Replica& r : replicas_) {
        complete_flush(r);
        complete_snapshot(r);
      }
      if (now_ % kTickMs == 0) {
        if (now_ < heal_at) inject_faults();
        decommission();
        if (now_ % (10 * kTickMs) == 0) check_log_matching();
      }
      for (Replica& r : replicas_) {
        if (!r.up && runs(r) && now_ >= r.down_until && now_ < heal_at) start(r);
        if (r.up && r.fs->power_loss_scheduled() && now_ - r.power_loss_since > kForcePowerLossMs) {
          crash(r, true, "power loss");
        }
        if (r.up && r.kill_at != 0 && now_ >= r.kill_at) crash(r, true, "new leader lost power");
      }
      for (Client& c : clients_) client_step(c, now_ < drain_at);
    }
    if (!checker_.violation() && !checker_violation_) check_convergence();
    if (!checker_.violation() && !checker_violation_) {
      const LinearizabilityResult lin = check_kv_linearizable(history_);
      linearizability_checked_ = lin.operations;
      if (!lin.ok) violated("linearizability: " + lin.explanation);
    }
    return report();
  }

 private:
  // A node that is meant to be running (a member, joining, or leaving).
  static bool runs(const Replica& r) { return r.slot == Slot::kActive || r.slot == Slot::kLeaving; }

  NodeId random_active() {
    std::vector<NodeId> ids;
    for (const Replica& r : replicas_) {
      if (runs(r)) ids.push_back(r.id);
    }
    return ids[rng_.uniform(ids.size())];
  }
  // A random running replica, stepping past those `c` waits to hear from
  // (one draw, as random_active).
  NodeId random_target(const Client& c) {
    const NodeId drawn = random_active();
    for (std::uint64_t step = 0; step < replicas_.size(); ++step) {
      const Replica& r = replicas_[(drawn.value() - 1 + step) % replicas_.size()];
      if (runs(r) && !c.unanswered.contains(r.id)) return r.id;
    }
    return drawn;
  }
  Replica& replica(NodeId id) { return replicas_[id.value() - 1]; }

  void trace(std::string what) { trace_.add(now_, std::move(what)); }

  void violated(std::string what) { checker_violation_ = std::move(what); }

  // ---- Replicas: start, crash, drive ----

  void start(Replica& r) {
    if (!r.fs) {
      r.fs = std::make_unique<SimFileSystem>(rng_.next());
    } else if (r.lost_power) {
      r.fs->power_cycle();
    } else {
      r.fs->restart_process();
    }
    r.fs->cancel_power_loss();
    node::RaftReplicaOptions options;
    options.raft = config_;
    options.raft.id = r.id;
    options.wal.segment_bytes_target = 1024;  // small segments, so compaction removes files
    options.snapshot_every = snapshot_every_;
    options.snapshot_retain = compact_retain_;
    options.snapshot_chunk_bytes = chunk_bytes_;
    options.TEST_reply_before_vote_durable = o_.TEST_bug == PlantedBug::kReplyBeforeVoteDurable;
    options.defer_drive = o_.batch;
    options.background_sync = o_.background_sync;
    options.TEST_release_before_flush = o_.TEST_bug == PlantedBug::kAckBeforeFlush;
    node::RaftReplicaHooks hooks;
    hooks.applied = [this, id = r.id](const raft::Entry& e, bool executed) {
      checker_.on_apply(id, e, executed);
    };
    hooks.event = [this](const std::string& what) { trace(what); };
    auto app = std::make_unique<kv::KvMachine>(o_.TEST_bug == PlantedBug::kApplyRetryTwice);
    auto opened = node::RaftReplica::open(*r.fs, registry_, std::move(options), std::move(app),
                                          rng_.next(), std::move(hooks));
    if (!opened) {
      return violated(
          fmt::format("node {} failed to recover: {}", r.id.value(), opened.error().to_string()));
    }
    r.replica = std::move(*opened);
    r.up = true;
    r.lost_power = false;
    ++r.lives;
    checker_.on_restart(r.id);
    trace(fmt::format("start node {} (life {}, term {}, log {})", r.id.value(), r.lives,
                      core(r).term().value(), core(r).last_index().value()));
    after_input(r);
  }

  static const raft::Core& core(const Replica& r) { return r.replica->core(); }

  void crash(Replica& r, bool power_loss, const char* why) {
    r.up = false;
    r.kill_at = 0;
    r.lost_power = power_loss;
    snapshots_taken_ += r.replica->snapshots_taken();
    snapshots_installed_ += r.replica->snapshots_installed();
    snapshots_dropped_ += r.replica->snapshots_dropped();
    r.flush.reset();         // never ran: whatever it would have made durable may be lost
    r.snapshot_job.reset();  // its file, never published, is swept away on restart
    r.replica.reset();
    r.down_until = now_ + rng_.between(20, 2'000);
    net_.forget(r.id, power_loss);
    ++crashes_;
    power_losses_ += power_loss ? 1 : 0;
    trace(fmt::format("crash node {} ({})", r.id.value(), why));
  }

  // After every input: send what the replica released (all of it backed by
  // durable state), then check it. A replica whose storage failed is dead.
  // Group commit: everything delivered to a replica this millisecond is
  // persisted with one sync before any of it is answered.
  void flush_all() {
    for (Replica& r : replicas_) {
      if (!r.up) continue;
      r.replica->flush();
      after_input(r);
    }
  }

  void after_input(Replica& r) {
    consensus::Output out = r.replica->take_output();
    for (consensus::Output::ToPeer& m : out.messages) {
      net_.send(now_, r.id, m.to, Wire(std::move(m.frame)));
    }
    for (consensus::Output::ToClient& a : out.answers) {
      net_.send(now_, r.id, NodeId{a.client}, Wire(std::move(a.answer)));
    }
    if (const std::optional<Error>& failed = r.replica->failure()) {
      if (!r.fs->powered_off()) violated("storage failed: " + failed->to_string());
      crash(r, true, "power lost while writing");
      return;
    }
    checker_.observe(core(r));
    if (!r.flush) {
      r.flush = r.replica->take_flush();
      r.flush_due = now_ + rng_.between(0, 4);
    }
    if (!r.snapshot_job) {
      r.snapshot_job = r.replica->take_snapshot_job();
      // Long enough for the leader's snapshots, appends and elections to overtake it.
      if (r.snapshot_job) r.snapshot_due = now_ + rng_.between(0, 60);
    }
    if (core(r).role() == raft::RaftRole::kLeader && core(r).term() != r.led_term) {
      r.led_term = core(r).term();
      if (o_.crash && o_.kill_new_leader_one_in != 0 && now_ < o_.safety_ms &&
          rng_.one_in(o_.kill_new_leader_one_in)) {
        r.kill_at = now_ + rng_.between(1, 30);
      }
    }
  }

  // The disk thread: a flush due now syncs the file (a power loss may strike
  // it) and the replica hears how it went.
  void complete_flush(Replica& r) {
    if (!r.up || !r.flush || r.flush_due > now_) return;
    const storage::WalFlush flush = std::move(*r.flush);
    r.flush.reset();
    r.replica->flushed(flush, flush.run());
    ++flushes_;
    after_input(r);
  }

  // The snapshot thread: a snapshot due now is written and synced (disk
  // faults and power losses may strike it), then published or dropped.
  void complete_snapshot(Replica& r) {
    if (!r.up || !r.snapshot_job || r.snapshot_due > now_) return;
    const node::SnapshotJob job = std::move(*r.snapshot_job);
    r.snapshot_job.reset();
    r.replica->snapshot_written(job, job.run());
    ++background_snapshots_;
    after_input(r);
  }

  void tick(Replica& r) {
    if (!r.up || r.paused) return;
    r.replica->tick();
    after_input(r);
  }

  // ---- Messages ----

  void deliver(SimNetwork<Wire>::Delivery& d) {
    if (d.to.value() >= kClientBase) {
      if (const auto* answer = std::get_if<consensus::ClientAnswer>(&d.message)) {
        client_answer(clients_[d.to.value() - kClientBase - 1], d.from, *answer);
      }
      return;
    }
    Replica& r = replica(d.to);
    if (!r.up) return;
    if (r.paused) {
      r.held.push_back(std::move(d));
      return;
    }
    if (const auto* frame = std::get_if<Bytes>(&d.message)) {
      Result<Untrusted<raft::Message>> m = raft::decode_message(*frame);
      if (!m) return violated("a replica sent an undecodable frame: " + m.error().to_string());
      trace(fmt::format("{}->{} term {} {}", d.from.value(), d.to.value(),
                        m->unverified().term.value(), raft::describe(m->unverified().body)));
      // The channel proves the true sender, as mutual TLS would.
      if (Status received = r.replica->receive(d.from, *frame); !received) {
        return violated("a replica refused a peer's frame: " + received.error().to_string());
      }
    } else if (auto* call = std::get_if<consensus::ClientCall>(&d.message)) {
      r.replica->call(d.from.value(), std::move(*call));
    }
    after_input(r);
  }

  // ---- Clients ----

  // One attempt at a time: answers to older attempts are ignored, so
  // duplicated messages cannot multiply into a storm of retries.
  void client_send(Client& c) {
    c.pending->sent_at = now_;
    c.pending->resend_at = 0;
    c.pending->call = c.next_call++;
    // Crash mode: the channel proves the caller, so the request goes unsigned.
    const consensus::ClientRequest request{{}, c.id, c.pending->sequence, c.pending->command, {}};
    net_.send(now_, c.address, c.target,
              Wire(consensus::ClientCall{c.pending->call, Principal::client(c.id),
                                         codec::encode(request)}));
  }

  void client_step(Client& c, bool may_start) {
    if (c.pending) {
      if (c.pending->resend_at != 0 && now_ >= c.pending->resend_at) {
        client_send(c);
      } else if (now_ - c.pending->sent_at >= kClientTimeoutMs) {
        ++retries_;
        // Only in service runs: the swarm's seeds (and the stories of its
        // regression and planted-bug seeds) keep the draws they were found with.
        if (o_.unavailable_as != Outage::kNone) c.unanswered.insert(c.target);
        if (c.unanswered.size() == replicas_.size()) c.unanswered.clear();
        c.target = random_target(c);
        client_send(c);  // same sequence: exactly-once is the replicas' job
      }
      return;
    }
    if (!may_start || now_ < c.next_op_at) return;
    const std::uint64_t sequence = c.next_sequence++;
    kv::KvCommand command = random_kv_command(rng_, c.id, sequence);
    c.pending = Pending{sequence, codec::encode(command), now_, now_, history_.size()};
    c.pending->first_call = c.next_call;
    history_.push_back(KvOperation{now_, std::nullopt, std::move(command), std::nullopt});
    ++ops_invoked_;
    client_send(c);
  }

  void client_answer(Client& c, NodeId from, const consensus::ClientAnswer& answer) {
    c.unanswered.erase(from);
    if (!c.pending || answer.call_id < c.pending->first_call) return;  // stale
    if (answer.outcome == consensus::CallOutcome::kNotLeader) {
      if (answer.call_id != c.pending->call || c.pending->resend_at != 0) return;
      const std::optional<NodeId> hint = answer.leader_hint;
      c.target = hint && *hint != c.target ? *hint : random_target(c);
      c.pending->resend_at = now_ + rng_.between(1, 10);  // a short pause, as a real client would
      return;
    }
    ++ops_completed_;
    KvOperation& op = history_[c.pending->history_index];
    op.returned_at = now_;
    Result<kv::KvReply> decoded = codec::decode<kv::KvReply>(answer.reply);
    if (!decoded) return violated("client received an undecodable reply");
    op.reply = *decoded;
    if (now_ >= o_.safety_ms) ++c.completed_after_heal;
    service_.returned(c.pending->invoked_at, now_);
    c.pending.reset();
    c.next_op_at = now_ + rng_.between(1, 20);
  }

  // ---- Faults ----

  void inject_faults() {
    if (o_.crash && rng_.one_in(std::max<std::uint64_t>(1, o_.crash_every_ms / kTickMs))) {
      Replica& r = replica(random_active());
      if (r.up && !r.fs->power_loss_scheduled()) {
        if (o_.disk && rng_.coin()) {
          // Power fails within the next few storage calls: mid-write, mid-fsync.
          r.fs->schedule_power_loss(rng_.uniform(4));
          r.power_loss_since = now_;
        } else {
          crash(r, false, "process killed");
        }
      }
    }
    if (o_.transfer && rng_.one_in(300)) {
      for (Replica& r : replicas_) {
        if (!r.up || core(r).role() != raft::RaftRole::kLeader) continue;
        const NodeId target = random_active();
        if (target == r.id || !r.replica->transfer_leadership(target)) continue;
        ++transfers_;
        trace(fmt::format("node {} transfers leadership to {}", r.id.value(), target.value()));
        after_input(r);
        break;
      }
    }
    if (o_.membership && rng_.one_in(150)) change_membership();
    if (o_.partition) {
      if (partition_until_ == 0 &&
          rng_.one_in(std::max<std::uint64_t>(1, o_.partition_every_ms / kTickMs))) {
        partition_until_ = now_ + rng_.between(200, 3'000);
        ++partitions_;
        std::vector<NodeId> all;
        for (const Replica& r : replicas_) all.push_back(r.id);
        trace(cut_random_partition(rng_, net_, all, [&] { return random_active(); }));
      } else if (partition_until_ != 0 && now_ >= partition_until_) {
        net_.heal();
        partition_until_ = 0;
        trace("partition healed");
      }
    }
  }

  // One step of a membership change, proposed to the current leader: add a
  // fresh node as a learner, promote a learner (refused until it has caught
  // up), or remove a voter (possibly the leader itself).
  void change_membership() {
    Replica* leader = nullptr;
    for (Replica& r : replicas_) {
      if (r.up && core(r).role() == raft::RaftRole::kLeader &&
          (!leader || core(r).term() > core(*leader).term())) {
        leader = &r;
      }
    }
    if (!leader) return;
    const raft::Membership& now = core(*leader).membership();
    std::vector<NodeId> voters = now.voters;
    std::vector<NodeId> learners = now.learners;
    Replica* joining = nullptr;
    Replica* leaving = nullptr;
    const std::uint64_t dice = rng_.uniform(3);
    if (dice == 0 && !learners.empty()) {
      voters.push_back(learners.front());
      learners.erase(learners.begin());
    } else if (dice == 1 && learners.empty()) {
      for (Replica& r : replicas_) {
        if ((r.slot == Slot::kSpare || r.slot == Slot::kActive) && !now.is_voter(r.id)) {
          joining = &r;
          break;
        }
      }
      if (!joining) return;
      learners.push_back(joining->id);
    } else if (dice == 2 &&
               voters.size() > static_cast<std::size_t>(std::max(2, o_.replicas - 1))) {
      leaving = &replica(voters[rng_.uniform(voters.size())]);
      std::erase(voters, leaving->id);
    } else {
      return;
    }
    const std::string change =
        fmt::format("{} -> voters {} learners {}", now.to_string(), voters.size(), learners.size());
    Result<LogIndex> proposed = leader->replica->change_membership(voters, learners);
    if (!proposed) return;  // a change in progress, a learner behind: try later
    ++membership_changes_;
    (joining ? learners_added_ : leaving ? removals_ : promotions_) += 1;
    trace(fmt::format("node {} proposes membership change at {}: {}", leader->id.value(),
                      proposed->value(), change));
    if (leaving) leaving->slot = Slot::kLeaving;
    after_input(*leader);
    if (joining && joining->slot == Slot::kSpare) {
      joining->slot = Slot::kActive;
      start(*joining);
    }
  }

  // Shuts down leaving nodes once a leader has committed a configuration
  // without them.
  void decommission() {
    for (const Replica& l : replicas_) {
      if (!l.up || core(l).role() != raft::RaftRole::kLeader) continue;
      const raft::Membership& m = core(l).membership_at(core(l).commit_index());
      if (m.joint()) continue;
      for (Replica& r : replicas_) {
        if (r.slot != Slot::kLeaving || m.is_voter(r.id) || m.is_learner(r.id)) continue;
        if (r.up) crash(r, false, "removed from the cluster");
        r.slot = Slot::kRemoved;
        trace(fmt::format("node {} decommissioned", r.id.value()));
      }
    }
  }

  // Takes the service check's replicas out when the window or (in turn) a
  // turn in it starts, resuming the previous turn's.
  void step_unavailability() {
    if (now_ == service_.from_ms()) {
      std::vector<NodeId> voters;
      for (const Replica& r : replicas_) {
        if (r.slot == Slot::kActive) voters.push_back(r.id);
      }
      outages_ = OutageSchedule(o_.unavailable_as, o_.seed, voters, o_.unavailable,
                                service_.from_ms(), service_.to_ms());
    }
    std::optional<std::vector<NodeId>> out = outages_.starting(now_);
    if (!out) return;
    for (NodeId id : out_now_) resume(replica(id));
    out_now_ = std::move(*out);
    for (NodeId id : out_now_) {
      if (std::find(unavailable_.begin(), unavailable_.end(), id) == unavailable_.end()) {
        unavailable_.push_back(id);
      }
      Replica& r = replica(id);
      trace(fmt::format("node {} unavailable ({})", id.value(), outage_name(o_.unavailable_as)));
      switch (o_.unavailable_as) {
        case Outage::kNone: break;
        case Outage::kCrash:
          if (r.up) crash(r, false, "unavailable");
          r.down_until = o_.safety_ms;
          break;
        case Outage::kPause:
        case Outage::kPauseInTurn: r.paused = true; break;
        case Outage::kPartition: {
          std::vector<NodeId> others;
          for (const Replica& other : replicas_) others.push_back(other.id);
          for (const Client& c : clients_) others.push_back(c.address);
          isolate(net_, id, others);
          break;
        }
      }
    }
  }

  // Delivers what a paused replica was sent meanwhile and ticks it again.
  void resume(Replica& r) {
    if (!r.paused) return;
    r.paused = false;
    trace(fmt::format("node {} resumes ({} messages held)", r.id.value(), r.held.size()));
    std::deque<SimNetwork<Wire>::Delivery> held = std::move(r.held);
    r.held.clear();
    for (SimNetwork<Wire>::Delivery& d : held) deliver(d);
  }

  void heal_everything() {
    trace("faults stop: heal, restart everything");
    for (const Client& c : clients_) {
      if (c.pending) service_.still_pending(c.pending->invoked_at);
    }
    for (Replica& r : replicas_) resume(r);
    out_now_.clear();
    net_.heal();
    net_.set_faults({});
    partition_until_ = 0;
    for (Replica& r : replicas_) {
      r.kill_at = 0;
      if (r.up && r.fs->power_loss_scheduled()) r.fs->cancel_power_loss();
      if (!r.up && runs(r)) start(r);
    }
  }

  // ---- Checks ----

  void check_log_matching() {
    std::vector<const raft::Core*> cores;
    for (const Replica& r : replicas_) {
      if (r.up) cores.push_back(&core(r));
    }
    checker_.check_log_matching(cores);
  }

  void check_liveness() {
    for (const Client& c : clients_) {
      if (c.pending && now_ - std::max(c.pending->invoked_at, o_.safety_ms) > kLivenessBoundMs) {
        violated(
            fmt::format("liveness: client {} request {} still pending {} ms after faults stopped",
                        c.id.value(), c.pending->sequence, now_ - o_.safety_ms));
        return;
      }
      if (c.completed_after_heal == 0) {
        violated(fmt::format("liveness: client {} completed nothing after faults stopped",
                             c.id.value()));
        return;
      }
    }
  }

  // Every member of the final configuration is up, with the same commit
  // index and the same state.
  void check_convergence() {
    const Replica* most = nullptr;
    for (const Replica& r : replicas_) {
      if (r.up && (!most || core(r).commit_index() > core(*most).commit_index())) most = &r;
    }
    if (!most) return violated("no replica is up after the drain");
    const LogIndex commit = core(*most).commit_index();
    const raft::Membership final_membership = core(*most).membership_at(commit);
    for (NodeId id : final_membership.members()) {
      const Replica& r = replica(id);
      if (!r.up) return violated(fmt::format("node {} is down after the drain", r.id.value()));
      if (core(r).commit_index() != commit ||
          r.replica->state_machine().digest() != most->replica->state_machine().digest()) {
        return violated(fmt::format(
            "replicas did not converge: node {} commit {} vs node {} commit {}", r.id.value(),
            core(r).commit_index().value(), most->id.value(), commit.value()));
      }
    }
  }

  RaftSimReport report() {
    RaftSimReport rep;
    rep.ops_invoked = ops_invoked_;
    rep.ops_completed = ops_completed_;
    rep.retries = retries_;
    for (const Replica& r : replicas_) {
      if (!r.up) continue;
      rep.commit_index = std::max(rep.commit_index, core(r).commit_index().value());
      rep.snapshots_taken += r.replica->snapshots_taken();
      rep.snapshots_installed += r.replica->snapshots_installed();
      rep.snapshots_dropped += r.replica->snapshots_dropped();
    }
    rep.leaders_elected = checker_.leaders_elected();
    rep.crashes = crashes_;
    rep.power_losses = power_losses_;
    rep.partitions = partitions_;
    rep.transfers = transfers_;
    rep.membership_changes = membership_changes_;
    rep.learners_added = learners_added_;
    rep.promotions = promotions_;
    rep.removals = removals_;
    rep.snapshots_taken += snapshots_taken_;
    rep.snapshots_installed += snapshots_installed_;
    rep.snapshots_dropped += snapshots_dropped_;
    rep.flushes = flushes_;
    rep.background_snapshots = background_snapshots_;
    rep.messages_sent = net_.stats().sent;
    rep.messages_dropped = net_.stats().dropped;
    rep.messages_duplicated = net_.stats().duplicated;
    rep.checks = checker_.checks();
    rep.history_checked = linearizability_checked_;
    rep.unavailable = unavailable_;
    rep.service = service_;
    rep.violation = checker_.violation() ? checker_.violation() : checker_violation_;
    rep.trace_tail = trace_.tail();
    rep.trace_hash = trace_.finish();
    return rep;
  }

  RaftSimOptions o_;
  Random rng_;
  SimNetwork<Wire> net_;
  security::TrustRegistry registry_;
  raft::Config config_;
  std::vector<Replica> replicas_;
  std::vector<Client> clients_;
  RaftChecker checker_;
  std::vector<KvOperation> history_;
  std::uint64_t linearizability_checked_ = 0;
  std::optional<std::string> checker_violation_;
  TraceLog trace_{kTraceTail};
  std::uint64_t now_ = 0;
  std::uint64_t partition_until_ = 0;
  std::uint64_t ops_invoked_ = 0;
  std::uint64_t ops_completed_ = 0;
  std::uint64_t retries_ = 0;
  std::uint64_t crashes_ = 0;
  std::uint64_t power_losses_ = 0;
  std::uint64_t partitions_ = 0;
  std::uint64_t transfers_ = 0;
  std::uint64_t membership_changes_ = 0;
  std::uint64_t learners_added_ = 0;
  std::uint64_t promotions_ = 0;
  std::uint64_t removals_ = 0;
  std::uint64_t snapshots_taken_ = 0;
  std::uint64_t snapshots_installed_ = 0;
  std::uint64_t snapshots_dropped_ = 0;
  std::uint64_t flushes_ = 0;
  std::uint64_t background_snapshots_ = 0;
  std::uint64_t snapshot_every_ = 0;
  std::uint64_t compact_retain_ = 0;
  std::uint32_t chunk_bytes_ = 0;
  std::vector<NodeId> unavailable_;  // the service check's replicas, once out
  std::vector<NodeId> out_now_;      // of those, the ones out now
  OutageSchedule outages_;
  ServiceWindow service_;
};

}  // namespace

RaftSimReport run_raft_sim(const RaftSimOptions& options) { return Cluster(options).run(); }

RaftSimOptions raft_service_options(std::uint64_t seed, int replicas, Outage as) {
  RaftSimOptions o;
  o.seed = seed;
  o.replicas = replicas;
  o.safety_ms = as == Outage::kPauseInTurn ? kPauseInTurnPhaseMs : 4'000;
  o.liveness_ms = 3'000;
  o.crash = o.disk = o.partition = o.loss = o.duplicate = o.transfer = o.membership = false;
  o.batch = seed % 2 == 1;
  o.background_sync = (seed & 2) != 0;
  o.clients = 4;
  o.unavailable_as = as;
  o.unavailable = as == Outage::kNone ? 0 : (replicas - 1) / 2;
  return o;
}

ServiceVerdict check_raft_service(const RaftSimOptions& outage) {
  RaftSimOptions baseline = outage;
  baseline.unavailable_as = Outage::kNone;
  baseline.unavailable = 0;
  const RaftSimReport healthy = run_raft_sim(baseline);
  const RaftSimReport degraded = run_raft_sim(outage);
  // Election timeouts in ms: up to election_ticks_max ticks of at most 12 ms.
  const std::uint64_t election_ms = raft::Config{}.election_ticks_max * 12;
  ServiceVerdict v =
      judge_service(healthy.service, degraded.service, election_ms + 2 * kClientTimeoutMs);
  if (!v.violation && !healthy.ok()) v.violation = "baseline: " + *healthy.violation;
  if (!v.violation && !degraded.ok()) v.violation = *degraded.violation;
  return v;
}
}  // namespace phalanx::sim
