// Raft under simulated faults: many seeds, every check after every event.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <vector>

#include "sim/raft_cluster.h"
#include "sim/seeds.h"

namespace phalanx::sim {
namespace {

// Under the sanitizers (./dev test runs the suites twice) a tenth of the
// swarm's seeds, as in bft_sim.cc; ./dev soak runs 20,000 each.
#if defined(__SANITIZE_ADDRESS__)
constexpr std::uint64_t kSeedShare = 10;
#else
constexpr std::uint64_t kSeedShare = 1;
#endif

void run_seeds(int replicas, std::uint64_t default_seeds) {
  std::uint64_t changes = 0;
  std::uint64_t promotions = 0;
  std::uint64_t removals = 0;
  std::uint64_t installs = 0;
  std::uint64_t snapshots = 0;
  std::uint64_t background = 0;
  std::uint64_t dropped = 0;
  const std::vector<std::uint64_t> seeds = sim_seeds(default_seeds / kSeedShare);
  for (std::uint64_t seed : seeds) {
    const RaftSimOptions options = random_fault_mix(seed, replicas);
    const RaftSimReport report = run_raft_sim(options);
    ASSERT_TRUE(report.ok()) << report.summary(options);
    changes += report.membership_changes;
    promotions += report.promotions;
    removals += report.removals;
    installs += report.snapshots_installed;
    snapshots += report.snapshots_taken;
    background += report.background_snapshots;
    dropped += report.snapshots_dropped;
  }
  // The swarm really exercises membership changes, compaction and
  // InstallSnapshot (a sizeable share of runs, not a lucky few).
  if (seeds.size() >= 100) {
    EXPECT_GT(changes, seeds.size() / 2);
    EXPECT_GT(promotions, seeds.size() / 10);
    EXPECT_GT(removals, seeds.size() / 10);
    EXPECT_GT(installs, seeds.size() / 4);
    EXPECT_GT(snapshots, seeds.size() * 10);
    EXPECT_GT(background, seeds.size());  // written off the replica's thread on half the seeds
  }
  std::printf(
      "%zu seeds: %lu membership changes (%lu promotions, %lu removals), %lu snapshots (%lu "
      "written in the background, %lu of those dropped for the leader's), %lu installed from a "
      "leader\n",
      seeds.size(), static_cast<unsigned long>(changes), static_cast<unsigned long>(promotions),
      static_cast<unsigned long>(removals), static_cast<unsigned long>(snapshots),
      static_cast<unsigned long>(background), static_cast<unsigned long>(dropped),
      static_cast<unsigned long>(installs));
}

TEST(RaftSimulation, ThreeReplicasMixedFaults) { run_seeds(3, 300); }
TEST(RaftSimulation, FiveReplicasMixedFaults) { run_seeds(5, 200); }

// Seeds that once found a bug (the fix is pinned by a unit test as well):
//   169, 211  WAL append after truncating into / rolling back to a recovered
//             closed segment failed (opened read-only)
//   508       a snapshot install finishing after AppendEntries had extended
//             the log wiped acknowledged entries; the follower never caught up
//   2683      duplicated NotLeader answers multiplied client retries into a
//             storm of proposals (the simulated client now keeps one attempt)
TEST(RaftSimulation, RegressionSeeds) {
  for (std::uint64_t seed : {169, 211, 508, 2683}) {
    const RaftSimOptions options = random_fault_mix(seed, 3);
    const RaftSimReport report = run_raft_sim(options);
    EXPECT_TRUE(report.ok()) << report.summary(options);
  }
}

TEST(RaftSimulation, SameSeedSameRun) {
  const RaftSimOptions options = random_fault_mix(42, 3);
  const RaftSimReport a = run_raft_sim(options);
  const RaftSimReport b = run_raft_sim(options);
  EXPECT_EQ(a.trace_hash, b.trace_hash);
  EXPECT_EQ(a.ops_completed, b.ops_completed);
  EXPECT_NE(run_raft_sim(random_fault_mix(43, 3)).trace_hash, a.trace_hash);
}

// Every fault happens in a few default runs (a leadership transfer is rare
// enough that one seed alone may draw none), and background sync runs.
TEST(RaftSimulation, FaultsAreActuallyInjected) {
  RaftSimReport total;
  for (std::uint64_t seed : {7, 8, 9}) {
    RaftSimOptions options;
    options.seed = seed;
    options.background_sync = seed == 8;
    const RaftSimReport r = run_raft_sim(options);
    ASSERT_TRUE(r.ok()) << r.summary(options);
    EXPECT_GT(r.ops_completed, 100u);
    EXPECT_GT(r.leaders_elected, 1u);
    total.crashes += r.crashes;
    total.power_losses += r.power_losses;
    total.partitions += r.partitions;
    total.transfers += r.transfers;
    total.messages_dropped += r.messages_dropped;
    total.messages_duplicated += r.messages_duplicated;
    total.flushes += r.flushes;
  }
  EXPECT_GT(total.crashes, 0u);
  EXPECT_GT(total.power_losses, 0u);
  EXPECT_GT(total.partitions, 0u);
  EXPECT_GT(total.transfers, 0u);
  EXPECT_GT(total.messages_dropped, 0u);
  EXPECT_GT(total.messages_duplicated, 0u);
  EXPECT_GT(total.flushes, 100u);
}

// Each planted bug must be caught within a bounded number of seeds, so the
// checks are known to have teeth.
// `invariants`: the checks that may catch it (empty: any). `profile`
// adjusts the fault mix drawn from each seed.
void expect_caught(PlantedBug bug, std::uint64_t seeds_max,
                   std::vector<std::string> invariants = {},
                   void (*profile)(RaftSimOptions&) = nullptr) {
  for (std::uint64_t seed = 1; seed <= seeds_max; ++seed) {
    RaftSimOptions options = random_fault_mix(seed, 3);
    options.TEST_bug = bug;
    if (profile != nullptr) profile(options);
    const RaftSimReport report = run_raft_sim(options);
    if (!report.ok()) {
      bool expected = invariants.empty();
      for (const std::string& inv : invariants)
        expected |= report.violation->find(inv) != std::string::npos;
      EXPECT_TRUE(expected) << "caught, but by another check:\n" << report.summary(options);
      std::printf("caught at seed %lu\n", static_cast<unsigned long>(seed));
      // A failure names the one command that replays it.
      EXPECT_NE(report.summary(options).find("reproduce: phalanx sim --protocol raft --seed " +
                                             std::to_string(seed) + " --replicas 3"),
                std::string::npos)
          << report.summary(options);
      return;
    }
  }
  ADD_FAILURE() << "planted bug not caught in " << seeds_max << " seeds";
}

// Figure 8 needs a narrow interleaving: an old-term entry committed by
// counting, its leader dying before its no-op spreads, a rival holding a
// newer-term entry winning. A "Figure 8 nemesis" profile (crashes every
// 150 ms, new leaders killed one time in three, no transfers) catches it
// about once in 16,000 seeds (seed 15681 today, by leader completeness), so
// the bound is generous and the test runs in ./dev soak. The rule itself is
// unit-tested in RaftCore.OldTermEntryIsNotCommittedByCounting.
void figure8_nemesis(RaftSimOptions& o) {
  o.crash = true;
  o.disk = true;
  o.transfer = false;
  o.crash_every_ms = 150;
  o.kill_new_leader_one_in = 3;
}

// Seed 5375 under the Figure 8 nemesis (no planted bug) once ended with a
// follower refusing an honest snapshot: one step delivered the last chunk
// of one transfer and the first chunk of the next (the leader had taken a
// newer snapshot), the second file was started before the first was
// finished, and the first's root was checked against the second file.
TEST(RaftSimulation, ATransferThatEndsAsTheNextBeginsIsInstalledFirst) {
  RaftSimOptions options = random_fault_mix(5375, 3);
  figure8_nemesis(options);
  const RaftSimReport report = run_raft_sim(options);
  EXPECT_TRUE(report.ok()) << report.summary(options);
  EXPECT_GT(report.snapshots_installed, 0u);
}

TEST(RaftSimulationSoak, CommitOfPreviousTermEntriesByCounting) {
  expect_caught(PlantedBug::kCommitPreviousTermByCounting, 50'000,
                {"lacks committed entry", "state machine safety"}, &figure8_nemesis);
}
TEST(RaftSimulationPlantedBugs, ReplyBeforeTheVoteIsDurable) {
  expect_caught(PlantedBug::kReplyBeforeVoteDurable, 400, {"two leaders"});
}
// The same bug with group commit on every seed: batching the fsync must not
// hide a reply that leaves before what it promises is durable. (First
// caught at seed 733; without batching at seed 222.)
TEST(RaftSimulationPlantedBugs, ReplyBeforeTheVoteIsDurableWithGroupCommit) {
  expect_caught(PlantedBug::kReplyBeforeVoteDurable, 1000, {"two leaders"},
                [](RaftSimOptions& o) { o.batch = true; });
}
// Background sync: an acknowledgement that leaves before its flush is a
// promise the disk may not keep. A power loss then costs a committed entry,
// or leaves the leader believing the follower holds entries it lost, so that
// it never catches up (first caught at seed 19, later at seed 32 that way).
TEST(RaftSimulationPlantedBugs, AcknowledgementBeforeTheBackgroundFlush) {
  expect_caught(PlantedBug::kAckBeforeFlush, 400,
                {"lacks committed entry", "state machine safety", "did not converge"},
                [](RaftSimOptions& o) { o.background_sync = true; });
}
TEST(RaftSimulationPlantedBugs, SkippedConflictTruncation) {
  expect_caught(PlantedBug::kSkipConflictTruncation, 400, {"log matching", "state machine safety"});
}
TEST(RaftSimulationPlantedBugs, ReadServedWithoutLeadershipQuorum) {
  // A deposed leader that has not noticed serves a stale read: only the
  // linearizability check over the client history can see it.
  expect_caught(PlantedBug::kReadWithoutQuorum, 400, {"linearizability"});
}
TEST(RaftSimulationPlantedBugs, RetryAppliedTwice) {
  expect_caught(PlantedBug::kApplyRetryTwice, 100, {"executed twice"});
}

}  // namespace
}  // namespace phalanx::sim
