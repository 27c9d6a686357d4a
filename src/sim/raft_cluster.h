// A whole Raft cluster in one thread, driven by one seed.
//
// Replicas run the real raft::Core, kv::KvStore, storage::Wal and hard state
// on per-replica SimFileSystems; messages cross a SimNetwork; clients run a
// key-value workload with timeouts and retries (same sequence number, so
// exactly-once can be checked). The run has a safety phase with the chosen
// faults, then a liveness phase: partitions healed, every replica restarted,
// faults off. The same options replay the same run bit for bit; the trace
// hash proves it.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "crypto/hash.h"
#include "sim/service.h"

namespace phalanx::sim {

// Replicas tick every 8-12 ms of simulated time; faults are drawn every kSimTickMs.
inline constexpr std::uint64_t kSimTickMs = 10;

// Known bugs the simulator must catch (tests prove it does).
enum class PlantedBug : std::uint8_t {
  kNone,
  kCommitPreviousTermByCounting,  // Raft §5.4.2 ignored
  kReplyBeforeVoteDurable,        // vote replies sent before the vote is persisted
  kSkipConflictTruncation,        // a conflicting suffix is kept
  kApplyRetryTwice,               // the session cache is ignored
  kReadWithoutQuorum,             // ReadIndex reads served unconfirmed (check-quorum off)
  kAckBeforeFlush,                // background sync: acks leave before their flush
  kCommitWaitsForAll,             // the leader commits only what every voter holds
};

struct RaftSimOptions {
  std::uint64_t seed = 1;
  // Group commit as the node runs it: replicas defer driving after each
  // message or call and are flushed once per simulated millisecond. On for
  // odd seeds (random_fault_mix) so both paths see the swarm.
  bool batch = false;
  // Background sync as the node runs it: a replica's log flush completes
  // 0-4 ms after it is handed out, while the replica goes on stepping. On
  // for seeds whose second bit is set (random_fault_mix).
  bool background_sync = false;
  int replicas = 3;
  int clients = 3;
  std::uint64_t safety_ms = 10'000;
  std::uint64_t liveness_ms = 6'000;
  bool crash = true;      // process kills and restarts
  bool disk = true;       // crashes may be power losses (unsynced data lost or torn)
  bool partition = true;  // symmetric and one-way partitions
  bool loss = true;
  bool duplicate = true;
  bool transfer = true;  // leaders hand leadership over at random times
  // Membership changes: fresh nodes join as learners and are promoted,
  // voters (the leader too) are removed and shut down. Two spare nodes.
  bool membership = true;
  // Mean simulated time between injected crashes and between partitions.
  std::uint64_t crash_every_ms = 1'500;
  std::uint64_t partition_every_ms = 2'000;
  // A new leader is killed within 30 ms of its election with probability
  // 1/kill_new_leader_one_in (0: never): the windows where a leader has
  // replicated old entries but not yet its own no-op.
  std::uint64_t kill_new_leader_one_in = 0;
  PlantedBug TEST_bug = PlantedBug::kNone;
  // The service check (sim/service.h): `unavailable` voters out for the
  // whole fault phase, the way `unavailable_as` says.
  Outage unavailable_as = Outage::kNone;
  int unavailable = 0;
  // Set by random_fault_mix: the faults were drawn from the seed, so the
  // seed alone reproduces the run.
  bool mix_from_seed = false;

  // The `phalanx sim` command line that replays this run.
  [[nodiscard]] std::string command() const;
  // "crash,partition,..." for the faults that are on (empty: none).
  [[nodiscard]] std::string fault_list() const;
};

// Draws a fault mix from `seed`: each fault on with probability 3/4, and a
// fault rate from calm to violent.
[[nodiscard]] RaftSimOptions random_fault_mix(std::uint64_t seed, int replicas);

struct RaftSimReport {
  std::uint64_t ops_invoked = 0;
  std::uint64_t ops_completed = 0;
  std::uint64_t retries = 0;
  std::uint64_t commit_index = 0;
  std::uint64_t leaders_elected = 0;
  std::uint64_t crashes = 0;
  std::uint64_t power_losses = 0;
  std::uint64_t partitions = 0;
  std::uint64_t transfers = 0;
  std::uint64_t membership_changes = 0;  // proposals accepted by a leader
  std::uint64_t learners_added = 0;
  std::uint64_t promotions = 0;
  std::uint64_t removals = 0;
  std::uint64_t snapshots_taken = 0;
  std::uint64_t snapshots_installed = 0;
  std::uint64_t flushes = 0;  // background log flushes completed
  std::uint64_t background_snapshots = 0;  // snapshots written off the replica's thread
  std::uint64_t snapshots_dropped = 0;     // ...and dropped: the leader's was installed meanwhile
  std::uint64_t messages_sent = 0;
  std::uint64_t messages_dropped = 0;
  std::uint64_t messages_duplicated = 0;
  std::uint64_t checks = 0;
  std::uint64_t history_checked = 0;  // client operations checked for linearizability
  std::vector<NodeId> unavailable;    // the replicas out (service check)
  ServiceWindow service;              // calls in the outage window (service check)
  std::optional<std::string> violation;
  std::vector<std::string> trace_tail;  // the last events, oldest first
  crypto::Hash32 trace_hash;

  [[nodiscard]] bool ok() const { return !violation.has_value(); }
  // One screen: counts, faults, checks, and on failure the violation, the
  // trace tail and the command that reproduces the run.
  [[nodiscard]] std::string summary(const RaftSimOptions& options) const;
};

[[nodiscard]] RaftSimReport run_raft_sim(const RaftSimOptions& options);

// The options of a service-check run: `replicas` voters, no other fault
// (no transfers or membership changes either); f of them out `as`
// (Outage::kNone: the baseline).
[[nodiscard]] RaftSimOptions raft_service_options(std::uint64_t seed, int replicas, Outage as);
// Runs the baseline and the outage for `seed` and judges them. The bound
// on a call: the longest election timeout (the leader may be the one out),
// one client attempt that went to the silent replica, and one more round
// trip's worth of retries after the new leader's NOT_LEADER hint.
[[nodiscard]] ServiceVerdict check_raft_service(const RaftSimOptions& outage);

}  // namespace phalanx::sim
