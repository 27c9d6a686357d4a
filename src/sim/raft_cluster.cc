#include "sim/raft_cluster.h"

#include <fmt/format.h>

#include <deque>
#include <map>
#include <memory>

#include "apps/kv/kv.h"
#include "consensus/raft/core.h"
#include "security/verify.h"
#include "sim/linearizability.h"
#include "sim/network.h"
#include "sim/raft_checkers.h"
#include "sim/sim_file_system.h"
#include "storage/hard_state.h"
#include "storage/snapshot.h"
#include "storage/wal.h"

namespace phalanx::sim {
namespace {

constexpr std::uint64_t kTickMs = kSimTickMs;
constexpr std::uint64_t kClientTimeoutMs = 300;
constexpr std::uint64_t kLivenessBoundMs = 4'000;
constexpr std::uint64_t kDrainMs = 2'000;
constexpr std::uint64_t kClientBase = 1000;  // network ids of clients
constexpr std::uint64_t kForcePowerLossMs = 100;
constexpr std::size_t kTraceTail = 40;
constexpr const char* kWalDir = "/data/wal";
constexpr const char* kStatePath = "/data/raft_state";
constexpr const char* kSnapshotDir = "/data/snapshots";
constexpr int kSpareNodes = 2;

struct ClientRequestMsg {
  std::uint64_t sequence;
  std::uint64_t attempt;  // echoed in a NotLeader answer
  Bytes command;
};
struct ClientReplyMsg {
  std::uint64_t sequence;
  std::uint64_t attempt;
  bool not_leader;
  std::optional<NodeId> hint;
  Bytes reply;
};
using Wire = std::variant<raft::Message, ClientRequestMsg, ClientReplyMsg>;

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
  std::unique_ptr<storage::SnapshotWriter> receiving;  // a snapshot streamed from the leader
  std::unique_ptr<storage::SnapshotReader> sending;    // the snapshot chunks are sent from
  std::unique_ptr<SimFileSystem> fs;
  std::unique_ptr<storage::Wal> wal;
  std::unique_ptr<raft::Core> core;
  kv::KvStore kv;
  std::map<std::uint64_t, std::pair<NodeId, std::uint64_t>> awaiting;  // index -> client, sequence
  struct Read {
    NodeId client;
    std::uint64_t sequence;
    std::string key;
    LogIndex index;  // set once the core releases it
  };
  std::map<std::uint64_t, Read> reads;  // ReadIndex request id -> read
  bool up = false;
  bool lost_power = false;
  std::uint64_t down_until = 0;
  std::uint64_t power_loss_since = 0;
  std::uint64_t kill_at = 0;   // 0: no kill scheduled
  std::uint64_t tick_ms = 10;  // its clock: replicas' clocks drift apart
  Term led_term;               // the last term this replica was leader in
  std::uint64_t lives = 0;
};

struct Pending {
  std::uint64_t sequence;
  Bytes command;
  std::uint64_t invoked_at;
  std::uint64_t sent_at;
  std::size_t history_index;  // its entry in the history for the linearizability check
  std::uint64_t attempt = 0;
  std::uint64_t resend_at = 0;  // after a NotLeader answer (0: none due)
};

struct Client {
  ClientId id;
  NodeId address;
  NodeId target;
  std::uint64_t next_sequence = 1;
  std::optional<Pending> pending;
  std::uint64_t next_op_at = 0;
  std::uint64_t completed_after_heal = 0;
};

struct TraceEvent {
  std::uint64_t at;
  std::string what;
};

// What the trace shows of a message beyond its type and term.
std::string details(const raft::MessageBody& body) {
  if (const auto* a = std::get_if<raft::AppendEntries>(&body)) {
    return fmt::format(" prev {} entries {} commit {}", a->prev_index.value(), a->entries.size(),
                       a->leader_commit.value());
  }
  if (const auto* r = std::get_if<raft::AppendEntriesReply>(&body)) {
    return r->success ? fmt::format(" match {}", r->match_index.value())
                      : fmt::format(" rejected, hint {}", r->hint_index.value());
  }
  if (const auto* i = std::get_if<raft::InstallSnapshot>(&body)) {
    return fmt::format(" snapshot {} chunk {}", i->last_index.value(), i->chunk);
  }
  if (const auto* r = std::get_if<raft::InstallSnapshotReply>(&body)) {
    return r->done
               ? fmt::format(" done, match {}", r->match.value())
               : fmt::format(" snapshot {} wants chunk {}", r->last_index.value(), r->next_chunk);
  }
  return "";
}

Bytes entry_payload(const raft::Entry& e) {
  Bytes out{static_cast<std::uint8_t>(e.kind)};
  out.insert(out.end(), e.data.begin(), e.data.end());
  return out;
}

class Cluster {
 public:
  explicit Cluster(const RaftSimOptions& options) : o_(options), rng_(options.seed), net_(rng_) {
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
    config_.TEST_commit_previous_term_entries =
        o_.TEST_bug == PlantedBug::kCommitPreviousTermByCounting;
    config_.TEST_skip_conflict_truncation = o_.TEST_bug == PlantedBug::kSkipConflictTruncation;
    config_.TEST_read_without_quorum = o_.TEST_bug == PlantedBug::kReadWithoutQuorum;
    // With check-quorum a deposed leader mostly steps down before a new one
    // exists, which masks unconfirmed reads; turn it off so they show.
    if (config_.TEST_read_without_quorum) config_.check_quorum = false;
    for (int c = 0; c < o_.clients; ++c) {
      const auto n = static_cast<std::uint64_t>(c + 1);
      Client client;
      client.id = ClientId{n};
      client.address = NodeId{kClientBase + n};
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
      if (now_ == heal_at) heal_everything();
      if (now_ == drain_at) check_liveness();
      for (auto& d : net_.due(now_)) deliver(d);
      for (Replica& r : replicas_) {
        if (now_ % r.tick_ms == 0) tick(r);
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
  Replica& replica(NodeId id) { return replicas_[id.value() - 1]; }

  void trace(std::string what) {
    hasher_.update(as_view(what));
    std::uint8_t at[8];
    for (int i = 0; i < 8; ++i) at[i] = static_cast<std::uint8_t>(now_ >> (8 * i));
    hasher_.update(ByteView(at, 8));
    trace_.push_back({now_, std::move(what)});
    if (trace_.size() > kTraceTail) trace_.pop_front();
  }

  void violated(std::string what) { checker_violation_ = std::move(what); }

  // ---- Replicas: start, crash, persistence ----

  void start(Replica& r) {
    if (!r.fs) {
      r.fs = std::make_unique<SimFileSystem>(rng_.next());
    } else if (r.lost_power) {
      r.fs->power_cycle();
    } else {
      r.fs->restart_process();
    }
    r.fs->cancel_power_loss();
    raft::Persisted persisted;
    if (Status recovered = recover(r, persisted); !recovered) {
      violated(fmt::format("node {} failed to recover: {}", r.id.value(),
                           recovered.error().to_string()));
      return;
    }
    raft::Config config = config_;
    config.id = r.id;
    r.core = std::make_unique<raft::Core>(config, std::move(persisted), rng_.next());
    r.kv.TEST_apply_retries_twice = o_.TEST_bug == PlantedBug::kApplyRetryTwice;
    r.awaiting.clear();
    r.reads.clear();
    r.up = true;
    r.lost_power = false;
    ++r.lives;
    checker_.on_restart(r.id);
    trace(fmt::format("start node {} (life {}, term {}, log {})", r.id.value(), r.lives,
                      r.core->term().value(), r.core->last_index().value()));
    process_ready(r);
  }

  // The newest snapshot (the state machine is restored from it), then the
  // log after it. A log that does not continue the snapshot (a crash between
  // installing a snapshot and resetting the log) is reset to follow it.
  Status recover(Replica& r, raft::Persisted& persisted) {
    storage::WalOptions wal_options;
    wal_options.segment_bytes_target = 1024;  // small segments, so compaction removes files
    PHALANX_ASSIGN_OR_RETURN(r.wal, storage::Wal::open(*r.fs, kWalDir, wal_options));
    PHALANX_ASSIGN_OR_RETURN(std::optional<storage::RaftHardState> hs,
                             storage::load_hard_state<storage::RaftHardState>(*r.fs, kStatePath));
    persisted.hard_state = hs.value_or(storage::RaftHardState{});
    PHALANX_ASSIGN_OR_RETURN(std::optional<std::string> snapshot,
                             storage::latest_snapshot(*r.fs, kSnapshotDir));
    r.kv = kv::KvStore{};
    LogIndex base{0};
    if (snapshot) {
      PHALANX_ASSIGN_OR_RETURN(storage::SnapshotManifest manifest, restore(r, *snapshot));
      base = manifest.meta.last_index;
      const std::optional<std::uint64_t> term = r.wal->term_at(base);
      const bool continues =
          term ? *term == manifest.meta.last_term : r.wal->first_index() == base.next();
      if (!continues) PHALANX_TRY(r.wal->reset(base.next(), manifest.meta.last_entry_hash));
      persisted.snapshot = std::move(manifest);
    }
    for (std::uint64_t i = base.value() + 1; i <= r.wal->last_index().value(); ++i) {
      PHALANX_ASSIGN_OR_RETURN(storage::WalEntry e, r.wal->read(LogIndex{i}));
      if (e.payload.empty() || e.payload[0] > raft::kEntryKindMax) {
        return fail(ErrorCode::kCorruption, fmt::format("log entry {} has no valid kind", i));
      }
      raft::Entry entry{Term{e.term}, LogIndex{i}, static_cast<raft::EntryKind>(e.payload[0]),
                        Bytes(e.payload.begin() + 1, e.payload.end())};
      if (entry.kind == raft::EntryKind::kConfig) {
        PHALANX_TRY(codec::decode<raft::Membership>(entry.data));
      }
      persisted.log.push_back(std::move(entry));
    }
    return {};
  }

  // Restores the state machine from the snapshot at `path` (every chunk verified).
  Result<storage::SnapshotManifest> restore(Replica& r, const std::string& path) {
    PHALANX_ASSIGN_OR_RETURN(std::unique_ptr<storage::SnapshotReader> reader,
                             storage::SnapshotReader::open(*r.fs, path));
    Bytes state;
    while (true) {
      PHALANX_ASSIGN_OR_RETURN(std::optional<Bytes> chunk, reader->next_chunk());
      if (!chunk) break;
      state.insert(state.end(), chunk->begin(), chunk->end());
    }
    PHALANX_TRY(codec::decode<raft::Membership>(reader->manifest().meta.membership));
    PHALANX_ASSIGN_OR_RETURN(r.kv, kv::KvStore::restore(state));
    return reader->manifest();
  }

  void crash(Replica& r, bool power_loss, const char* why) {
    r.up = false;
    r.receiving.reset();
    r.sending.reset();
    r.kill_at = 0;
    r.lost_power = power_loss;
    r.core.reset();
    r.wal.reset();
    r.awaiting.clear();
    r.reads.clear();
    r.down_until = now_ + rng_.between(20, 2'000);
    net_.forget(r.id, power_loss);
    ++crashes_;
    power_losses_ += power_loss ? 1 : 0;
    trace(fmt::format("crash node {} ({})", r.id.value(), why));
  }

  // Persists, then sends, then applies (the runner contract of raft::Core).
  // Returns false if the replica died on the way.
  bool process_ready(Replica& r) {
    raft::Ready ready = r.core->take_ready();
    if (o_.TEST_bug == PlantedBug::kReplyBeforeVoteDurable) {
      // The planted bug: vote replies leave before the vote is on disk.
      std::erase_if(ready.messages, [&](raft::Message& m) {
        if (!std::holds_alternative<raft::RequestVoteReply>(m.body)) return false;
        net_.send(now_, r.id, m.to, Wire(m));
        return true;
      });
    }
    Status persisted = persist(r, ready);
    if (!persisted) {
      if (!r.fs->powered_off()) violated("storage failed: " + persisted.error().to_string());
      crash(r, true, "power lost while persisting");
      return false;
    }
    for (raft::Message& m : ready.messages) {
      if (auto* s = std::get_if<raft::InstallSnapshot>(&m.body)) {
        Result<Bytes> chunk = read_snapshot_chunk(r, s->last_index, s->chunk);
        if (!chunk) {
          violated("reading a snapshot chunk to send failed: " + chunk.error().to_string());
          return false;
        }
        s->data = std::move(*chunk);
      }
      const NodeId to = m.to;
      net_.send(now_, r.id, to, Wire(std::move(m)));
    }
    for (const raft::Entry& e : ready.committed) apply(r, e);
    if (Status taken = maybe_snapshot(r); !taken) {
      if (!r.fs->powered_off()) violated("snapshot failed: " + taken.error().to_string());
      crash(r, true, "power lost while snapshotting");
      return false;
    }
    serve_reads(r, ready.reads);
    checker_.observe(*r.core);
    if (r.core->role() == raft::RaftRole::kLeader && r.core->term() != r.led_term) {
      r.led_term = r.core->term();
      if (o_.crash && o_.kill_new_leader_one_in != 0 && now_ < o_.safety_ms &&
          rng_.one_in(o_.kill_new_leader_one_in)) {
        r.kill_at = now_ + rng_.between(1, 30);
      }
    }
    return true;
  }

  Status persist(Replica& r, const raft::Ready& ready) {
    for (const raft::SnapshotChunk& chunk : ready.snapshot_chunks) {
      if (chunk.manifest) {
        PHALANX_ASSIGN_OR_RETURN(
            r.receiving, storage::SnapshotWriter::create(*r.fs, kSnapshotDir, chunk.manifest->meta,
                                                         storage::kSnapshotChunkBytesMax));
      }
      PHALANX_ASSERT(r.receiving != nullptr);
      PHALANX_TRY(r.receiving->write_chunk(chunk.data));
    }
    if (const auto& installed = ready.snapshot_installed) {
      PHALANX_ASSERT(r.receiving != nullptr);
      PHALANX_TRY(r.receiving->finish(installed->root));
      r.receiving.reset();
      const LogIndex at = installed->meta.last_index;
      PHALANX_TRY(restore(r, std::string(kSnapshotDir) + "/" + storage::snapshot_file_name(at)));
      PHALANX_TRY(r.wal->reset(at.next(), installed->meta.last_entry_hash));
      std::erase_if(r.awaiting, [&](const auto& kv) { return kv.first <= at.value(); });
      ++snapshots_installed_;
      trace(fmt::format("node {} installed a snapshot at {}", r.id.value(), at.value()));
    }
    if (ready.truncate_from) PHALANX_TRY(r.wal->truncate_suffix(*ready.truncate_from));
    for (const raft::Entry& e : ready.append) {
      PHALANX_ASSIGN_OR_RETURN(LogIndex i, r.wal->append(e.term.value(), entry_payload(e)));
      PHALANX_ASSERT(i == e.index);
    }
    if (ready.truncate_from || !ready.append.empty()) PHALANX_TRY(r.wal->sync());
    if (ready.hard_state)
      PHALANX_TRY(storage::save_hard_state(*r.fs, kStatePath, *ready.hard_state));
    return {};
  }

  // The runner's half of InstallSnapshot: the chunk's bytes come from disk.
  Result<Bytes> read_snapshot_chunk(Replica& r, LogIndex last_index, std::uint64_t chunk) {
    if (!r.sending || r.sending->manifest().meta.last_index != last_index) {
      const std::string path =
          std::string(kSnapshotDir) + "/" + storage::snapshot_file_name(last_index);
      PHALANX_ASSIGN_OR_RETURN(r.sending, storage::SnapshotReader::open(*r.fs, path));
    }
    return r.sending->read_chunk(chunk);
  }

  // Every snapshot_every_ applied entries: snapshot the state machine, tell
  // the core, and compact the log up to compact_retain_ entries behind it.
  Status maybe_snapshot(Replica& r) {
    raft::Core& core = *r.core;
    const LogIndex at = core.applied_index();
    const LogIndex last = core.snapshot() ? core.snapshot()->meta.last_index : LogIndex{0};
    if (at.value() < last.value() + snapshot_every_) return {};
    // Let a transfer in progress finish, unless the log has grown long.
    if (core.sending_snapshot() && at.value() < last.value() + 4 * snapshot_every_) return {};
    PHALANX_ASSIGN_OR_RETURN(storage::WalEntry entry, r.wal->read(at));
    storage::SnapshotMeta meta{at, core.term_at(at).value(), entry.hash,
                               codec::encode(core.membership_at(at))};
    PHALANX_ASSIGN_OR_RETURN(
        std::unique_ptr<storage::SnapshotWriter> writer,
        storage::SnapshotWriter::create(*r.fs, kSnapshotDir, meta, chunk_bytes_));
    const Bytes state = r.kv.snapshot();
    for (std::size_t off = 0; off < state.size(); off += chunk_bytes_) {
      const std::size_t n = std::min<std::size_t>(chunk_bytes_, state.size() - off);
      PHALANX_TRY(writer->write_chunk(ByteView(state).subspan(off, n)));
    }
    PHALANX_ASSIGN_OR_RETURN(storage::SnapshotManifest manifest, writer->finish());
    const LogIndex through{
        std::max(core.base_index().value(), at.value() - std::min(at.value(), compact_retain_))};
    core.snapshot_taken(std::move(manifest), through);
    PHALANX_TRY(r.wal->compact_prefix(through));
    ++snapshots_taken_;
    trace(fmt::format("node {} snapshot at {}, log from {}", r.id.value(), at.value(),
                      through.value() + 1));
    return {};
  }

  void apply(Replica& r, const raft::Entry& e) {
    bool executed = false;
    Bytes reply;
    if (e.kind == raft::EntryKind::kCommand) {
      const std::uint64_t before = r.kv.executed();
      reply = r.kv.apply(e.index, e.data);
      executed = r.kv.executed() > before;
    }
    checker_.on_apply(r.id, e, executed);
    const auto waiting = r.awaiting.find(e.index.value());
    if (waiting == r.awaiting.end()) return;
    const auto [client, sequence] = waiting->second;
    r.awaiting.erase(waiting);
    Result<kv::KvCommand> c = codec::decode<kv::KvCommand>(e.data);
    // Another leader may have put a different entry at this index.
    if (!c || c->sequence != sequence || NodeId{kClientBase + c->client.value()} != client) return;
    net_.send(now_, r.id, client, Wire(ClientReplyMsg{sequence, 0, false, std::nullopt, reply}));
  }

  // ReadIndex reads: released by the core, served once applied that far.
  void serve_reads(Replica& r, const std::vector<raft::ReadyRead>& released) {
    for (const raft::ReadyRead& rr : released) {
      const auto it = r.reads.find(rr.request_id);
      if (it != r.reads.end()) it->second.index = rr.index;
    }
    for (auto it = r.reads.begin(); it != r.reads.end();) {
      Replica::Read& read = it->second;
      if (read.index.value() == 0 || r.core->applied_index() < read.index) {
        ++it;
        continue;
      }
      const std::optional<Bytes> value = r.kv.get(read.key);
      const kv::KvReply reply = value ? kv::KvReply{kv::KvStatus::kOk, value}
                                      : kv::KvReply{kv::KvStatus::kNotFound, std::nullopt};
      net_.send(now_, r.id, read.client,
                Wire(ClientReplyMsg{read.sequence, 0, false, std::nullopt, codec::encode(reply)}));
      it = r.reads.erase(it);
    }
  }

  void tick(Replica& r) {
    if (!r.up) return;
    r.core->tick();
    process_ready(r);
  }

  // ---- Messages ----

  void deliver(SimNetwork<Wire>::Delivery& d) {
    if (d.to.value() >= kClientBase) {
      if (const auto* reply = std::get_if<ClientReplyMsg>(&d.message)) {
        client_reply(clients_[d.to.value() - kClientBase - 1], *reply);
      }
      return;
    }
    Replica& r = replica(d.to);
    if (!r.up) return;
    if (auto* m = std::get_if<raft::Message>(&d.message)) {
      trace(fmt::format("{}->{} {} term {}{}", d.from.value(), d.to.value(),
                        raft::message_name(m->body), m->term.value(), details(m->body)));
      // The channel proves the true sender, as mutual TLS would.
      auto authenticated = security::verify_channel(registry_, Principal::replica(d.from),
                                                    Untrusted<raft::Message>(std::move(*m)));
      if (!authenticated)
        return violated("channel check failed: " + authenticated.error().to_string());
      auto authorized = security::authorize(policy_, std::move(*authenticated));
      if (!authorized) return violated("authorization failed: " + authorized.error().to_string());
      r.core->step(*authorized);
      process_ready(r);
    } else if (auto* req = std::get_if<ClientRequestMsg>(&d.message)) {
      Result<kv::KvCommand> command = codec::decode<kv::KvCommand>(req->command);
      if (command && command->op == kv::KvOp::kGet) {
        // Reads take the ReadIndex path: no log entry.
        const std::uint64_t id = next_read_id_++;
        if (auto not_leader = r.core->read_index(id)) {
          net_.send(
              now_, r.id, d.from,
              Wire(ClientReplyMsg{req->sequence, req->attempt, true, not_leader->leader_hint, {}}));
          return;
        }
        r.reads[id] = Replica::Read{d.from, req->sequence, command->key, LogIndex{0}};
        process_ready(r);
        return;
      }
      auto proposed = r.core->propose(req->command);
      if (const auto* not_leader = std::get_if<raft::NotLeader>(&proposed)) {
        net_.send(
            now_, r.id, d.from,
            Wire(ClientReplyMsg{req->sequence, req->attempt, true, not_leader->leader_hint, {}}));
        return;
      }
      r.awaiting[std::get<LogIndex>(proposed).value()] = {d.from, req->sequence};
      process_ready(r);
    }
  }

  // ---- Clients ----

  kv::KvCommand random_command(Client& c, std::uint64_t sequence) {
    kv::KvCommand cmd{c.id, sequence, kv::KvOp::kGet, fmt::format("k{}", rng_.uniform(5)), {}, {}};
    const std::uint64_t dice = rng_.uniform(10);
    if (dice < 4) {
      cmd.op = kv::KvOp::kPut;
      cmd.value = to_bytes(fmt::format("v{}", rng_.uniform(1000)));
    } else if (dice < 7) {
      cmd.op = kv::KvOp::kGet;
    } else if (dice < 9) {
      cmd.op = kv::KvOp::kCompareAndSet;
      cmd.value = to_bytes(fmt::format("v{}", rng_.uniform(1000)));
      if (rng_.coin()) cmd.expected = to_bytes(fmt::format("v{}", rng_.uniform(1000)));
    } else {
      cmd.op = kv::KvOp::kDelete;
    }
    return cmd;
  }

  // One attempt at a time: answers to older attempts are ignored, so
  // duplicated messages cannot multiply into a storm of retries.
  void client_send(Client& c) {
    c.pending->sent_at = now_;
    c.pending->resend_at = 0;
    ++c.pending->attempt;
    net_.send(now_, c.address, c.target,
              Wire(ClientRequestMsg{c.pending->sequence, c.pending->attempt, c.pending->command}));
  }

  void client_step(Client& c, bool may_start) {
    if (c.pending) {
      if (c.pending->resend_at != 0 && now_ >= c.pending->resend_at) {
        client_send(c);
      } else if (now_ - c.pending->sent_at >= kClientTimeoutMs) {
        ++retries_;
        c.target = random_active();
        client_send(c);  // same sequence: exactly-once is the replicas' job
      }
      return;
    }
    if (!may_start || now_ < c.next_op_at) return;
    const std::uint64_t sequence = c.next_sequence++;
    kv::KvCommand command = random_command(c, sequence);
    c.pending = Pending{sequence, codec::encode(command), now_, now_, history_.size()};
    history_.push_back(KvOperation{now_, std::nullopt, std::move(command), std::nullopt});
    ++ops_invoked_;
    client_send(c);
  }

  void client_reply(Client& c, const ClientReplyMsg& reply) {
    if (!c.pending || reply.sequence != c.pending->sequence) return;  // stale
    if (reply.not_leader) {
      if (reply.attempt != c.pending->attempt || c.pending->resend_at != 0) return;
      c.target = reply.hint && *reply.hint != c.target ? *reply.hint : random_active();
      c.pending->resend_at = now_ + rng_.between(1, 10);  // a short pause, as a real client would
      return;
    }
    ++ops_completed_;
    KvOperation& op = history_[c.pending->history_index];
    op.returned_at = now_;
    Result<kv::KvReply> decoded = codec::decode<kv::KvReply>(reply.reply);
    if (!decoded) return violated("client received an undecodable reply");
    op.reply = *decoded;
    if (now_ >= o_.safety_ms) ++c.completed_after_heal;
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
        if (!r.up || r.core->role() != raft::RaftRole::kLeader) continue;
        const NodeId target = random_active();
        if (target == r.id || !r.core->transfer_leadership(target)) continue;
        ++transfers_;
        trace(fmt::format("node {} transfers leadership to {}", r.id.value(), target.value()));
        process_ready(r);
        break;
      }
    }
    if (o_.membership && rng_.one_in(150)) change_membership();
    if (o_.partition) {
      if (partition_until_ == 0 &&
          rng_.one_in(std::max<std::uint64_t>(1, o_.partition_every_ms / kTickMs))) {
        partition_until_ = now_ + rng_.between(200, 3'000);
        ++partitions_;
        if (rng_.coin()) {
          // Symmetric: a random minority or majority cut off from the rest.
          std::vector<bool> side(replicas_.size());
          for (std::size_t i = 0; i < side.size(); ++i) side[i] = rng_.coin();
          for (std::size_t a = 0; a < side.size(); ++a) {
            for (std::size_t b = 0; b < side.size(); ++b) {
              if (side[a] != side[b]) net_.cut(replicas_[a].id, replicas_[b].id);
            }
          }
          trace("partition (symmetric)");
        } else {
          const NodeId from = random_active();
          const NodeId to = random_active();
          net_.cut(from, to);
          trace(fmt::format("partition (one-way {}->{})", from.value(), to.value()));
        }
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
      if (r.up && r.core->role() == raft::RaftRole::kLeader &&
          (!leader || r.core->term() > leader->core->term())) {
        leader = &r;
      }
    }
    if (!leader) return;
    const raft::Membership& now = leader->core->membership();
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
    Result<LogIndex> proposed = leader->core->change_membership(voters, learners);
    if (!proposed) return;  // a change in progress, a learner behind: try later
    ++membership_changes_;
    (joining ? learners_added_ : leaving ? removals_ : promotions_) += 1;
    trace(fmt::format("node {} proposes membership change at {}: {}", leader->id.value(),
                      proposed->value(), change));
    if (leaving) leaving->slot = Slot::kLeaving;
    process_ready(*leader);
    if (joining && joining->slot == Slot::kSpare) {
      joining->slot = Slot::kActive;
      start(*joining);
    }
  }

  // Shuts down leaving nodes once a leader has committed a configuration
  // without them.
  void decommission() {
    for (const Replica& l : replicas_) {
      if (!l.up || l.core->role() != raft::RaftRole::kLeader) continue;
      const raft::Membership& m = l.core->membership_at(l.core->commit_index());
      if (m.joint()) continue;
      for (Replica& r : replicas_) {
        if (r.slot != Slot::kLeaving || m.is_voter(r.id) || m.is_learner(r.id)) continue;
        if (r.up) crash(r, false, "removed from the cluster");
        r.slot = Slot::kRemoved;
        trace(fmt::format("node {} decommissioned", r.id.value()));
      }
    }
  }

  void heal_everything() {
    trace("faults stop: heal, restart everything");
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
      if (r.up) cores.push_back(r.core.get());
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
      if (r.up && (!most || r.core->commit_index() > most->core->commit_index())) most = &r;
    }
    if (!most) return violated("no replica is up after the drain");
    const raft::Membership final_membership = most->core->membership_at(most->core->commit_index());
    for (NodeId id : final_membership.members()) {
      const Replica& r = replica(id);
      if (!r.up) return violated(fmt::format("node {} is down after the drain", r.id.value()));
      if (r.core->commit_index() != most->core->commit_index() ||
          r.kv.digest() != most->kv.digest()) {
        return violated(fmt::format(
            "replicas did not converge: node {} commit {} vs node {} commit {}", r.id.value(),
            r.core->commit_index().value(), most->id.value(), most->core->commit_index().value()));
      }
    }
  }

  RaftSimReport report() {
    RaftSimReport rep;
    rep.ops_invoked = ops_invoked_;
    rep.ops_completed = ops_completed_;
    rep.retries = retries_;
    for (const Replica& r : replicas_) {
      if (r.up) rep.commit_index = std::max(rep.commit_index, r.core->commit_index().value());
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
    rep.snapshots_taken = snapshots_taken_;
    rep.snapshots_installed = snapshots_installed_;
    rep.messages_sent = net_.stats().sent;
    rep.messages_dropped = net_.stats().dropped;
    rep.messages_duplicated = net_.stats().duplicated;
    rep.checks = checker_.checks();
    rep.history_checked = linearizability_checked_;
    rep.violation = checker_.violation() ? checker_.violation() : checker_violation_;
    for (const TraceEvent& t : trace_)
      rep.trace_tail.push_back(fmt::format("t={}ms {}", t.at, t.what));
    rep.trace_hash = hasher_.finish();
    return rep;
  }

  RaftSimOptions o_;
  Random rng_;
  SimNetwork<Wire> net_;
  security::TrustRegistry registry_;
  security::Policy policy_ = security::Policy::standard();
  raft::Config config_;
  std::vector<Replica> replicas_;
  std::vector<Client> clients_;
  RaftChecker checker_;
  std::vector<KvOperation> history_;
  std::uint64_t linearizability_checked_ = 0;
  std::optional<std::string> checker_violation_;
  crypto::Hasher hasher_;
  std::deque<TraceEvent> trace_;
  std::uint64_t now_ = 0;
  std::uint64_t partition_until_ = 0;
  std::uint64_t next_read_id_ = 1;
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
  std::uint64_t snapshot_every_ = 0;
  std::uint64_t compact_retain_ = 0;
  std::uint32_t chunk_bytes_ = 0;
};

}  // namespace

RaftSimReport run_raft_sim(const RaftSimOptions& options) { return Cluster(options).run(); }
}  // namespace phalanx::sim
