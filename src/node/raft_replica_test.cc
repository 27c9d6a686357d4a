// RaftReplica: the Raft core with its storage and state machine behind the
// replica interface. Elections, writes and reads through call(); what each
// bad frame gets; restart from a real directory; a disk that fails.
#include "node/raft_replica.h"

#include <gtest/gtest.h>

#include <deque>
#include <set>

#include "apps/kv/kv_machine.h"
#include "consensus/common/client_request.h"
#include "consensus/raft/wire.h"
#include "sim/sim_file_system.h"
#include "storage/posix_file_system.h"
#include "testing/temp_dir.h"

namespace phalanx::node {
namespace {

using consensus::CallOutcome;
using consensus::ClientAnswer;

constexpr consensus::ClientHandle kClient = 77;
const ClientId kClientId{1};
const Principal kCaller = Principal::client(kClientId);  // the channel proved it
const ClientId kSourceId{2};                             // an evidence source

security::TrustRegistry registry_of(int replicas, int learners = 0) {
  security::TrustRegistry registry;
  for (int i = 1; i <= replicas + learners; ++i) {
    crypto::Seed seed;
    seed[0] = static_cast<std::uint8_t>(i);
    const NodeId id{static_cast<std::uint64_t>(i)};
    const Role role = i <= replicas ? Role::kReplica : Role::kLearner;
    EXPECT_TRUE(registry.add(
        {Principal::replica(id), crypto::KeyPair::from_seed(seed).public_key(), role}));
  }
  crypto::Seed seed;
  seed[1] = 1;
  EXPECT_TRUE(
      registry.add({kCaller, crypto::KeyPair::from_seed(seed).public_key(), Role::kClient}));
  seed[1] = 2;
  EXPECT_TRUE(registry.add({Principal::client(kSourceId),
                            crypto::KeyPair::from_seed(seed).public_key(), Role::kEvidenceSource}));
  return registry;
}

RaftReplicaOptions options_for(NodeId id, int replicas, std::string dir = "/data") {
  RaftReplicaOptions o;
  o.raft.id = id;
  for (int i = 1; i <= replicas; ++i)
    o.raft.voters.push_back(NodeId{static_cast<std::uint64_t>(i)});
  o.data_dir = std::move(dir);
  o.snapshot_every = 5;
  o.snapshot_retain = 1;
  o.snapshot_chunk_bytes = 64;
  return o;
}

// The command's client's request (unsigned: in crash mode the channel
// proves the caller).
Bytes request(const kv::KvCommand& command, ClusterId cluster = {}) {
  return codec::encode(consensus::ClientRequest{
      cluster, command.client, command.sequence, codec::encode(command), {}});
}
Bytes put(std::uint64_t sequence, const std::string& key, const std::string& value) {
  return request(kv::KvCommand{kClientId, sequence, kv::KvOp::kPut, key, to_bytes(value), {}});
}
Bytes get(std::uint64_t sequence, const std::string& key) {
  return request(kv::KvCommand{kClientId, sequence, kv::KvOp::kGet, key, {}, {}});
}

// Replicas on simulated disks; every message delivered, in order.
class Cluster {
 public:
  // background: the replicas sync in the background (background_sync), and
  // pump() runs every flush and snapshot job they hand out at once.
  explicit Cluster(int n, bool background = false)
      : registry_(registry_of(n)), background_(background) {
    // Every disk first: open() gives each replica as many voters as there are disks.
    for (int i = 1; i <= n; ++i) {
      disks_.push_back(std::make_unique<sim::SimFileSystem>(static_cast<std::uint64_t>(i)));
    }
    for (int i = 1; i <= n; ++i) replicas_.push_back(open(NodeId{static_cast<std::uint64_t>(i)}));
  }

  std::unique_ptr<RaftReplica> open(NodeId id) {
    RaftReplicaOptions options = options_for(id, static_cast<int>(disks_.size()));
    options.background_sync = background_;
    auto r = RaftReplica::open(*disks_[id.value() - 1], registry_, options,
                               std::make_unique<kv::KvMachine>(), id.value());
    EXPECT_TRUE(r.has_value()) << r.error().to_string();
    return std::move(*r);
  }

  // Ticks everyone and delivers until a leader exists.
  RaftReplica& elect() {
    for (int round = 0; round < 500; ++round) {
      for (auto& r : replicas_) r->tick();
      pump();
      for (auto& r : replicas_) {
        if (r->core().role() == raft::RaftRole::kLeader) return *r;
      }
    }
    ADD_FAILURE() << "no leader";
    return *replicas_[0];
  }

  void pump() {
    for (bool moved = true; moved;) {
      moved = false;
      for (auto& r : replicas_) {
        if (cut_.contains(r->id())) continue;  // says nothing until healed
        if (std::optional<storage::WalFlush> f = r->take_flush()) r->flushed(*f, f->run());
        if (run_snapshot_jobs) {
          if (std::optional<SnapshotJob> j = r->take_snapshot_job()) {
            r->snapshot_written(*j, j->run());
          }
        }
        consensus::Output out = r->take_output();
        for (auto& m : out.messages) {
          moved = true;
          if (cut_.contains(m.to)) continue;  // lost
          ASSERT_TRUE(replica(m.to).receive(r->id(), m.frame));
        }
        for (auto& a : out.answers) answers_.push_back(std::move(a.answer));
      }
    }
  }

  // Calls `request` on `r` and runs the cluster until it answers.
  ClientAnswer call(RaftReplica& r, Bytes request, Principal caller = kCaller) {
    const std::uint64_t id = next_call_++;
    r.call(kClient, {id, caller, std::move(request)});
    for (int round = 0; round < 100; ++round) {
      pump();
      for (auto it = answers_.begin(); it != answers_.end(); ++it) {
        if (it->call_id != id) continue;
        ClientAnswer a = std::move(*it);
        answers_.erase(it);
        return a;
      }
      for (auto& x : replicas_) x->tick();
    }
    ADD_FAILURE() << "no answer";
    return {};
  }

  RaftReplica& replica(NodeId id) { return *replicas_[id.value() - 1]; }
  RaftReplica& follower() {
    for (auto& r : replicas_) {
      if (r->core().role() != raft::RaftRole::kLeader) return *r;
    }
    return *replicas_[0];
  }
  std::unique_ptr<RaftReplica>& slot(NodeId id) { return replicas_[id.value() - 1]; }
  sim::SimFileSystem& disk(NodeId id) { return *disks_[id.value() - 1]; }
  // A cut-off replica hears nothing, and what it says is held until healed.
  void cut(NodeId id) { cut_.insert(id); }
  void heal(NodeId id) { cut_.erase(id); }

 private:
  security::TrustRegistry registry_;
  std::vector<std::unique_ptr<sim::SimFileSystem>> disks_;
  bool background_;
  std::set<NodeId> cut_;

 public:
  bool run_snapshot_jobs = true;  // false: they stay with the replicas, as if still writing
  std::vector<std::unique_ptr<RaftReplica>> replicas_;
  std::deque<ClientAnswer> answers_;
  std::uint64_t next_call_ = 1;
};

kv::KvReply reply_of(const ClientAnswer& a) {
  EXPECT_EQ(a.outcome, CallOutcome::kDone);
  Result<kv::KvReply> r = codec::decode<kv::KvReply>(a.reply);
  EXPECT_TRUE(r.has_value());
  return r ? *r : kv::KvReply{};
}

TEST(RaftReplica, WritesAndLinearizableReadsThroughCalls) {
  Cluster c(3);
  RaftReplica& leader = c.elect();
  EXPECT_EQ(reply_of(c.call(leader, put(1, "k", "v1"))).status, kv::KvStatus::kOk);
  const kv::KvReply read = reply_of(c.call(leader, get(2, "k")));
  EXPECT_EQ(read.status, kv::KvStatus::kOk);
  EXPECT_EQ(read.value, to_bytes("v1"));
  EXPECT_EQ(leader.status().role, "leader");
  EXPECT_EQ(leader.status().commit, leader.core().commit_index());
  // Each term entered is a view change (a term may be skipped); a restart enters none.
  const Term term = leader.core().term();
  EXPECT_GE(leader.status().view_changes, 1u);
  EXPECT_LE(leader.status().view_changes, term.value());
  EXPECT_FALSE(leader.status().evidence);  // byzantine mode's
  const NodeId id = leader.id();
  c.disk(id).restart_process();
  c.slot(id) = c.open(id);
  EXPECT_EQ(c.replica(id).core().term(), term);
  EXPECT_EQ(c.replica(id).status().view_changes, 0u);
}

// Group commit (defer_drive): calls only step the core; flush() persists the
// batch and only then releases the answers. A power loss before the flush
// releases nothing.
TEST(RaftReplica, DeferredCallsAreAnsweredOnlyAfterTheFlushPersistsThem) {
  for (const bool lose_power : {false, true}) {
    sim::SimFileSystem disk(9);
    security::TrustRegistry registry = registry_of(1);
    RaftReplicaOptions options = options_for(NodeId{1}, 1);
    options.defer_drive = true;
    auto opened = RaftReplica::open(disk, registry, options, std::make_unique<kv::KvMachine>(), 1);
    ASSERT_TRUE(opened);
    RaftReplica& r = **opened;
    for (int i = 0; i < 100 && r.core().role() != raft::RaftRole::kLeader; ++i) r.tick();
    ASSERT_EQ(r.core().role(), raft::RaftRole::kLeader);
    (void)r.take_output();
    const LogIndex applied = r.status().applied;
    for (std::uint64_t seq = 1; seq <= 3; ++seq)
      r.call(kClient, {seq, kCaller, put(seq, "k", "v")});
    EXPECT_TRUE(r.take_output().answers.empty());  // nothing durable yet, nothing promised
    EXPECT_EQ(r.status().applied, applied);
    if (lose_power) disk.schedule_power_loss(0);
    r.flush();
    const consensus::Output out = r.take_output();
    if (lose_power) {
      EXPECT_TRUE(r.failure().has_value());
      EXPECT_TRUE(out.answers.empty());
    } else {
      EXPECT_EQ(out.answers.size(), 3u);  // one flush: three entries, one sync
      EXPECT_EQ(r.status().applied.value(), applied.value() + 3);
    }
  }
}

TEST(RaftReplica, BackgroundSyncServesWritesReadsAndRestarts) {
  Cluster c(3, /*background=*/true);
  RaftReplica& leader = c.elect();
  for (std::uint64_t seq = 1; seq <= 12; ++seq) {  // past two snapshots (every 5)
    EXPECT_EQ(reply_of(c.call(leader, put(seq, "k" + std::to_string(seq % 3), "v"))).status,
              kv::KvStatus::kOk);
  }
  EXPECT_GE(leader.snapshots_taken(), 2u);
  const NodeId id = leader.id();
  c.disk(id).restart_process();
  c.slot(id) = c.open(id);
  RaftReplica& next = c.elect();
  EXPECT_EQ(reply_of(c.call(next, get(13, "k1"))).value, to_bytes("v"));
}

// Background sync: a follower's own snapshot, still being written when the
// leader's newer one is installed, is dropped: publishing it would put an
// older state in place of the installed one (and remove that file).
TEST(RaftReplica, AnOwnSnapshotOvertakenByTheLeadersIsDroppedNotPublished) {
  Cluster c(3, /*background=*/true);
  RaftReplica& leader = c.elect();
  c.run_snapshot_jobs = false;
  for (std::uint64_t seq = 1; seq <= 5; ++seq) (void)c.call(leader, put(seq, "k", "v"));
  RaftReplica& follower = c.follower();
  std::optional<SnapshotJob> job = follower.take_snapshot_job();  // still "writing"
  ASSERT_TRUE(job);
  c.run_snapshot_jobs = true;
  c.cut(follower.id());
  for (std::uint64_t seq = 6; seq <= 30; ++seq) {
    ASSERT_EQ(c.call(leader, put(seq, "k" + std::to_string(seq), "w")).outcome, CallOutcome::kDone)
        << seq;
  }
  c.heal(follower.id());
  for (int round = 0; round < 200 && follower.snapshots_installed() == 0; ++round) {
    for (auto& r : c.replicas_) r->tick();
    c.pump();
  }
  ASSERT_EQ(follower.snapshots_installed(), 1u);
  const LogIndex installed = follower.core().snapshot()->meta.last_index;
  ASSERT_GT(installed, job->at);
  follower.snapshot_written(*job, job->run());
  EXPECT_FALSE(follower.failure());
  EXPECT_EQ(follower.snapshots_dropped(), 1u);
  EXPECT_EQ(follower.core().snapshot()->meta.last_index, installed);
  // On disk: the installed snapshot (or a newer one of its own), nothing older, no leftovers.
  for (const std::string& name : *c.disk(follower.id()).list("/data/snapshots")) {
    EXPECT_TRUE(name.ends_with(".snap")) << name;
    EXPECT_GE(name, storage::snapshot_file_name(installed)) << name;
  }
  // And it restarts from there, with every write.
  const NodeId id = follower.id();
  c.disk(id).restart_process();
  c.slot(id) = c.open(id);
  EXPECT_GE(c.replica(id).core().snapshot()->meta.last_index, installed);
  EXPECT_EQ(reply_of(c.call(c.elect(), get(31, "k30"))).value, to_bytes("w"));
}

// The messages in `out` that are addressed to `to`, delivered.
void deliver(const consensus::Output& out, RaftReplica& from, RaftReplica& to) {
  for (const auto& m : out.messages) {
    if (m.to == to.id()) {
      ASSERT_TRUE(to.receive(from.id(), m.frame));
    }
  }
}

// Background sync: a leader's AppendEntries leave before its own fsync; a
// follower's acknowledgement only after its fsync is reported; a client is
// answered once the entry is durable on a majority, whichever disks that is.
TEST(RaftReplica, BackgroundSyncReleasesOnlyWhatIsDurable) {
  Cluster c(3, /*background=*/true);
  RaftReplica& leader = c.elect();
  (void)c.call(leader, put(1, "k", "v"));
  RaftReplica& follower = c.follower();
  leader.call(kClient, {99, kCaller, put(2, "k", "w")});
  std::optional<storage::WalFlush> leader_flush = leader.take_flush();
  ASSERT_TRUE(leader_flush);
  consensus::Output out = leader.take_output();
  ASSERT_FALSE(out.messages.empty());  // the appends left before the leader's sync
  deliver(out, leader, follower);
  EXPECT_TRUE(follower.take_output().messages.empty());  // its ack waits for its disk
  EXPECT_GT(follower.messages_held(), 0u);
  std::optional<storage::WalFlush> follower_flush = follower.take_flush();
  ASSERT_TRUE(follower_flush);
  EXPECT_FALSE(follower.take_flush());  // one flush out at a time
  follower.flushed(*follower_flush, follower_flush->run());
  EXPECT_EQ(follower.messages_held(), 0u);
  deliver(follower.take_output(), follower, leader);
  // One follower's copy and the leader's unsynced one are not a majority.
  EXPECT_TRUE(leader.take_output().answers.empty());
  leader.flushed(*leader_flush, leader_flush->run());
  out = leader.take_output();
  ASSERT_EQ(out.answers.size(), 1u);
  EXPECT_EQ(out.answers[0].answer.call_id, 99u);
}

// A flush that fails stops the replica: nothing held is released.
TEST(RaftReplica, AFailedBackgroundFlushReleasesNothing) {
  Cluster c(3, /*background=*/true);
  RaftReplica& leader = c.elect();
  (void)c.call(leader, put(1, "k", "v"));
  RaftReplica& follower = c.follower();
  leader.call(kClient, {99, kCaller, put(2, "k", "w")});
  deliver(leader.take_output(), leader, follower);
  std::optional<storage::WalFlush> flush = follower.take_flush();
  ASSERT_TRUE(flush);
  c.disk(follower.id()).set_faults({.sync_eio_one_in = 1});
  follower.flushed(*flush, flush->run());
  ASSERT_TRUE(follower.failure().has_value());
  EXPECT_EQ(follower.failure()->code(), ErrorCode::kIo);
  EXPECT_TRUE(follower.take_output().messages.empty());
}

TEST(RaftReplica, FollowerAnswersNotLeaderWithTheLeaderAsHint) {
  Cluster c(3);
  RaftReplica& leader = c.elect();
  (void)c.call(leader, put(1, "k", "v"));  // followers learn who leads
  const ClientAnswer a = c.call(c.follower(), put(2, "k", "w"));
  EXPECT_EQ(a.outcome, CallOutcome::kNotLeader);
  EXPECT_EQ(a.leader_hint, leader.id());
  const ClientAnswer r = c.call(c.follower(), get(3, "k"));
  EXPECT_EQ(r.outcome, CallOutcome::kNotLeader);
}

TEST(RaftReplica, RetryIsAnsweredFromTheSessionCache) {
  Cluster c(3);
  RaftReplica& leader = c.elect();
  (void)c.call(leader, put(1, "k", "first"));
  (void)c.call(leader, put(2, "k", "second"));
  (void)c.call(leader, put(3, "k", "third"));
  const crypto::Hash32 before = leader.state_machine().digest();
  // A retry of the latest request (same bytes): the cached reply, nothing re-executed.
  EXPECT_EQ(reply_of(c.call(leader, put(3, "k", "third"))).status, kv::KvStatus::kOk);
  EXPECT_EQ(leader.state_machine().digest(), before);
  // An older one is a replay: refused, nothing changes.
  EXPECT_EQ(reply_of(c.call(leader, put(1, "k", "first"))).status, kv::KvStatus::kReplay);
  EXPECT_EQ(leader.state_machine().digest(), before);
}

template <class Case>
bool refused_as(const Status& s) {
  return !s && s.error().security() != nullptr &&
         std::holds_alternative<Case>(*s.error().security());
}

// What each bad frame gets: a typed error, a count by kind, no state change.
// Crash mode admits client requests as byzantine mode does
// (node/client_admission.h), with the channel as proof. Before, the node
// checked only the session: an evidence source could write keys.
TEST(RaftReplica, ClientRequestsAreAdmittedByRoleAndNameBeforeOrdering) {
  Cluster c(3);
  RaftReplica& leader = c.elect();
  const Principal source = Principal::client(kSourceId);
  const auto answer = [&](Bytes bytes, Principal caller) {
    return c.call(leader, std::move(bytes), caller).outcome;
  };
  const kv::KvCommand write{kSourceId, 1, kv::KvOp::kPut, "k", to_bytes("v"), {}};
  // The evidence source's own write: its role may not write keys.
  EXPECT_EQ(answer(request(write), source), CallOutcome::kRejected);
  // Client 1's channel carrying the source's request: in another's name.
  EXPECT_EQ(answer(request(write), kCaller), CallOutcome::kRejected);
  kv::KvCommand mine = write;
  mine.client = kClientId;
  ClusterId other;
  other[0] = 1;
  EXPECT_EQ(answer(request(mine, other), kCaller), CallOutcome::kRejected);  // another cluster
  EXPECT_EQ(answer(to_bytes("garbage"), kCaller), CallOutcome::kRejected);
  // The command names another session than the request carrying it.
  const consensus::ClientRequest skewed{{}, kClientId, 5, codec::encode(mine), {}};
  EXPECT_EQ(answer(codec::encode(skewed), kCaller), CallOutcome::kRejected);
  const auto rejected = leader.status().rejected;
  EXPECT_EQ(rejected.at("authorization_denied"), 1u);
  EXPECT_EQ(rejected.at("authentication_failed"), 2u);
  EXPECT_EQ(rejected.at("malformed_input"), 1u);
  EXPECT_EQ(rejected.at("invalid_argument"), 1u);
  // Nothing was ordered: the key was never written, and client 1 goes on.
  EXPECT_EQ(reply_of(c.call(leader, get(7, "k"))).status, kv::KvStatus::kNotFound);
  EXPECT_EQ(leader.core().commit_index(), c.follower().core().commit_index());
}

TEST(RaftReplica, BadFramesAreRefusedCountedAndChangeNothing) {
  const security::TrustRegistry registry = registry_of(3, 1);
  sim::SimFileSystem disk(1);
  auto opened = RaftReplica::open(disk, registry, options_for(NodeId{1}, 3),
                                  std::make_unique<kv::KvMachine>(), 1);
  ASSERT_TRUE(opened.has_value());
  RaftReplica& r = **opened;
  const auto frame = [](NodeId from, NodeId to, raft::MessageBody body) {
    return raft::encode_message(raft::Message{from, to, Term{9}, std::move(body)});
  };
  const raft::RequestVote vote{LogIndex{100}, Term{8}, false};

  EXPECT_TRUE(refused_as<MalformedInput>(r.receive(NodeId{2}, Bytes{0xff, 0xff, 0xff})));
  // Node 3's channel carrying a message that claims to be from node 2.
  EXPECT_TRUE(
      refused_as<AuthenticationFailed>(r.receive(NodeId{3}, frame(NodeId{2}, NodeId{1}, vote))));
  // A peer no registry names.
  EXPECT_TRUE(
      refused_as<AuthenticationFailed>(r.receive(NodeId{9}, frame(NodeId{9}, NodeId{1}, vote))));
  // A learner asking for votes.
  EXPECT_TRUE(
      refused_as<AuthorizationDenied>(r.receive(NodeId{4}, frame(NodeId{4}, NodeId{1}, vote))));
  // A frame addressed to another replica.
  EXPECT_TRUE(refused_as<MalformedInput>(r.receive(NodeId{2}, frame(NodeId{2}, NodeId{3}, vote))));

  const consensus::ReplicaStatus s = r.status();
  EXPECT_EQ(s.term, 0u);  // none of them reached the core
  EXPECT_EQ(s.rejected.at("malformed_input"), 2u);
  EXPECT_EQ(s.rejected.at("authentication_failed"), 2u);
  EXPECT_EQ(s.rejected.at("authorization_denied"), 1u);
  EXPECT_TRUE(r.take_output().messages.empty());

  // The same vote request on the right channel is answered.
  ASSERT_TRUE(r.receive(NodeId{2}, frame(NodeId{2}, NodeId{1}, vote)));
  EXPECT_EQ(r.status().term, 9u);
  EXPECT_EQ(r.take_output().messages.size(), 1u);
}

TEST(RaftReplica, RestartFromARealDirectoryKeepsStateAndSnapshots) {
  testing::TempDir dir;
  storage::PosixFileSystem fs;
  const security::TrustRegistry registry = registry_of(1);
  const std::string data = (dir / "n1").string();
  crypto::Hash32 digest;
  LogIndex commit;
  {
    auto r = RaftReplica::open(fs, registry, options_for(NodeId{1}, 1, data),
                               std::make_unique<kv::KvMachine>(), 1);
    ASSERT_TRUE(r.has_value()) << r.error().to_string();
    RaftReplica& one = **r;
    for (int i = 0; i < 50 && one.core().role() != raft::RaftRole::kLeader; ++i) one.tick();
    ASSERT_EQ(one.core().role(), raft::RaftRole::kLeader);
    for (std::uint64_t s = 1; s <= 12; ++s) {
      one.call(kClient, {s, kCaller, put(s, "k" + std::to_string(s % 4), "v" + std::to_string(s))});
    }
    EXPECT_EQ(one.take_output().answers.size(), 12u);  // a single voter commits at once
    EXPECT_GE(one.snapshots_taken(), 2u);
    digest = one.state_machine().digest();
    commit = one.core().commit_index();
  }
  auto again = RaftReplica::open(fs, registry, options_for(NodeId{1}, 1, data),
                                 std::make_unique<kv::KvMachine>(), 2);
  ASSERT_TRUE(again.has_value()) << again.error().to_string();
  RaftReplica& one = **again;
  ASSERT_TRUE(one.core().snapshot().has_value());
  for (int i = 0; i < 50 && one.core().role() != raft::RaftRole::kLeader; ++i) one.tick();
  ASSERT_EQ(one.core().role(), raft::RaftRole::kLeader);
  EXPECT_GE(one.core().commit_index(), commit);
  EXPECT_EQ(one.state_machine().digest(), digest);
  // A retry of the last request from before the restart gets the cached answer.
  one.call(kClient, {99, kCaller, put(12, "k0", "v12")});
  consensus::Output out = one.take_output();
  ASSERT_EQ(out.answers.size(), 1u);
  EXPECT_EQ(reply_of(out.answers[0].answer).status, kv::KvStatus::kOk);
  EXPECT_EQ(one.state_machine().digest(), digest);
}

TEST(RaftReplica, CorruptedLogRefusesToOpen) {
  sim::SimFileSystem disk(1);
  const security::TrustRegistry registry = registry_of(1);
  {
    auto r = RaftReplica::open(disk, registry, options_for(NodeId{1}, 1),
                               std::make_unique<kv::KvMachine>(), 1);
    ASSERT_TRUE(r.has_value());
    for (int i = 0; i < 50; ++i) (*r)->tick();
  }
  auto names = disk.list("/data/wal");
  ASSERT_TRUE(names.has_value() && !names->empty());
  disk.flip_bit("/data/wal/" + names->front(), 30, 3);
  auto r = RaftReplica::open(disk, registry, options_for(NodeId{1}, 1),
                             std::make_unique<kv::KvMachine>(), 1);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), ErrorCode::kCorruption);
}

TEST(RaftReplica, FailingDiskStopsTheReplicaAndReleasesNothing) {
  Cluster c(3);
  RaftReplica& leader = c.elect();
  (void)c.call(leader, put(1, "k", "v"));
  const NodeId id = leader.id();
  c.disk(id).set_faults({.write_eio_one_in = 1});
  leader.call(kClient, {50, kCaller, put(2, "k", "w")});
  ASSERT_TRUE(leader.failure().has_value());
  EXPECT_EQ(leader.failure()->code(), ErrorCode::kIo);
  // Nothing that depended on the failed write leaves, and the replica is inert.
  const consensus::Output out = leader.take_output();
  EXPECT_TRUE(out.messages.empty());
  EXPECT_TRUE(out.answers.empty());
  leader.tick();
  EXPECT_TRUE(leader.take_output().messages.empty());
  // Restarted from disk with the disk healthy again, it rejoins.
  c.disk(id).set_faults({});
  c.disk(id).restart_process();
  c.slot(id) = c.open(id);
  RaftReplica& new_leader = c.elect();
  EXPECT_EQ(reply_of(c.call(new_leader, get(3, "k"))).value, to_bytes("v"));
}

}  // namespace
}  // namespace phalanx::node
