// Shared by the replica fuzz targets: replica 2 of a 4-replica cluster
// (testing keys, the default cluster id) on a simulated disk.
#pragma once

#include <cstdlib>
#include <memory>

#include "apps/kv/kv_machine.h"
#include "node/bft_replica.h"
#include "sim/sim_file_system.h"
#include "testing/bft_fixture.h"

namespace phalanx::fuzz {

inline constexpr NodeId kReplicas[] = {NodeId{1}, NodeId{2}, NodeId{3}, NodeId{4}};
inline constexpr NodeId kMe{2};

inline std::unique_ptr<node::BftReplica> open_bft(bft::testing::Fixture& fixture,
                                                  sim::SimFileSystem& disk) {
  node::BftReplicaOptions o{bft::Config{
      kMe, {std::begin(kReplicas), std::end(kReplicas)}, fixture.validators(), ClusterId{}}};
  auto opened =
      node::BftReplica::open(disk, fixture.registry(), std::move(o),
                             std::make_unique<kv::KvMachine>(), bft::testing::key_of(kMe));
  if (!opened) std::abort();
  return std::move(*opened);
}

}  // namespace phalanx::fuzz
