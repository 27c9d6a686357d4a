// libFuzzer target: the replica-facing (peer) path. Whatever bytes arrive
// from a connected peer, a Raft replica and a byzantine replica refuse them
// with a typed error and keep running: never a crash, never a stop.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>

#include "fuzz_replicas.h"
#include "node/raft_replica.h"

namespace {

using namespace phalanx;

struct Target {
  Target() : fixture(4), bft_disk(1), raft_disk(2) {
    bft = fuzz::open_bft(fixture, bft_disk);
    node::RaftReplicaOptions r;
    r.raft.id = fuzz::kMe;
    r.raft.voters = {std::begin(fuzz::kReplicas), std::end(fuzz::kReplicas)};
    r.data_dir = "/data";
    auto raft_opened = node::RaftReplica::open(raft_disk, fixture.registry(), r,
                                               std::make_unique<kv::KvMachine>(), 2);
    if (!raft_opened) std::abort();
    raft = std::move(*raft_opened);
  }

  bft::testing::Fixture fixture;
  sim::SimFileSystem bft_disk;
  sim::SimFileSystem raft_disk;
  std::unique_ptr<node::BftReplica> bft;
  std::unique_ptr<node::RaftReplica> raft;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static Target t;
  if (size == 0) return 0;
  // The first byte picks the sending peer (5: one not in the cluster).
  const NodeId from{static_cast<std::uint64_t>(data[0] % 5 + 1)};
  const ByteView frame(data + 1, size - 1);
  (void)t.bft->receive(from, frame);
  (void)t.raft->receive(from, frame);
  (void)t.bft->take_output();
  (void)t.raft->take_output();
  if (t.bft->failure() || t.raft->failure()) std::abort();  // a peer's bytes never stop a replica
  return 0;
}
