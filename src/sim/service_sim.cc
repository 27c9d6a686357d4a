// The service check (sim/service.h) in both modes: with f replicas crashed,
// paused or cut off for the whole fault phase, the cluster keeps serving
// (at least kServiceRatioMin of the same seed's calls without the outage)
// and no call waits longer than the protocol's bound; and two planted bugs
// that stall service are caught.
#include <gtest/gtest.h>

#include "sim/bft_cluster.h"
#include "sim/raft_cluster.h"
#include "sim/seeds.h"

namespace phalanx::sim {
namespace {

#if defined(__SANITIZE_ADDRESS__)
constexpr std::uint64_t kSeedShare = 5;
#else
constexpr std::uint64_t kSeedShare = 1;
#endif

constexpr Outage kKinds[] = {Outage::kCrash, Outage::kPause, Outage::kPartition};

Outage kind_of(std::uint64_t seed) { return kKinds[seed % 3]; }

TEST(ServiceSimulation, CrashModeServesWithFSilent) {
  for (int replicas : {3, 5}) {
    for (std::uint64_t seed : sim_seeds(60 / kSeedShare)) {
      const RaftSimOptions o = raft_service_options(seed, replicas, kind_of(seed));
      const ServiceVerdict v = check_raft_service(o);
      ASSERT_TRUE(v.ok()) << v.summary() << "\n  reproduce: " << o.command() << " --service";
    }
  }
}

TEST(ServiceSimulation, ByzantineModeServesWithOneOfFourSilent) {
  for (std::uint64_t seed : sim_seeds(12 / kSeedShare)) {
    const BftSimOptions o = bft_service_options(seed, 4, kind_of(seed));
    const ServiceVerdict v = check_bft_service(o);
    ASSERT_TRUE(v.ok()) << v.summary() << "\n  reproduce: " << o.command() << " --service";
  }
}

// A leader rotation that ignores reputation keeps handing rounds to the
// silent replica: a round timeout every n rounds, a fifth of the service.
TEST(ServiceSimulationPlantedBugs, RotationThatIgnoresReputation) {
  BftSimOptions o = bft_service_options(1, 4, Outage::kPause);
  o.TEST_rotation_ignores_reputation = true;
  const ServiceVerdict v = check_bft_service(o);
  EXPECT_FALSE(v.ok()) << v.summary();
  EXPECT_LT(v.ratio(), kServiceRatioMin) << v.summary();
}

// A leader that commits only what every voter holds commits nothing while
// one voter is out.
TEST(ServiceSimulationPlantedBugs, CommitThatWaitsForEveryVoter) {
  RaftSimOptions o = raft_service_options(1, 3, Outage::kCrash);
  o.TEST_bug = PlantedBug::kCommitWaitsForAll;
  const ServiceVerdict v = check_raft_service(o);
  EXPECT_FALSE(v.ok()) << v.summary();
  EXPECT_LT(v.ratio(), 0.1) << v.summary();
}

}  // namespace
}  // namespace phalanx::sim
