// Simulation options: the fault mix drawn from a seed, the command line that
// replays a run, and the one-screen summary of its report.
#include <fmt/format.h>

#include "core/random.h"
#include "sim/raft_cluster.h"

namespace phalanx::sim {

std::string RaftSimOptions::fault_list() const {
  std::string faults;
  for (const auto& [on, name] : {std::pair{crash, "crash"},
                                 {partition, "partition"},
                                 {loss, "loss"},
                                 {duplicate, "dup"},
                                 {disk, "disk"},
                                 {transfer, "transfer"},
                                 {membership, "member"}}) {
    if (on) faults += faults.empty() ? name : std::string(",") + name;
  }
  return faults;
}

RaftSimOptions random_fault_mix(std::uint64_t seed, int replicas) {
  Random r(seed * 0x9e3779b97f4a7c15ULL + 17);
  RaftSimOptions o;
  o.seed = seed;
  o.replicas = replicas;
  o.crash = !r.one_in(4);
  o.disk = !r.one_in(4);
  o.partition = !r.one_in(4);
  o.loss = !r.one_in(4);
  o.duplicate = !r.one_in(4);
  o.transfer = !r.one_in(4);
  o.membership = !r.one_in(4);
  static constexpr std::uint64_t kCrashEveryMs[] = {3'000, 1'500, 500, 150};
  o.crash_every_ms = kCrashEveryMs[r.uniform(4)];
  o.partition_every_ms = kCrashEveryMs[r.uniform(4)];
  static constexpr std::uint64_t kKillNewLeader[] = {0, 0, 8, 3};
  o.kill_new_leader_one_in = kKillNewLeader[r.uniform(4)];
  // Not drawn from r: the other draws stay as they were.
  o.batch = seed % 2 == 1;
  o.background_sync = seed / 2 % 2 == 1;
  o.mix_from_seed = true;
  return o;
}

std::string RaftSimOptions::command() const {
  std::string cmd =
      fmt::format("phalanx sim --protocol raft --seed {} --replicas {}", seed, replicas);
  if (!mix_from_seed) {
    const std::string faults = fault_list();
    cmd += fmt::format(" --ticks {} --faults {}", safety_ms / kSimTickMs,
                       faults.empty() ? "none" : faults);
  }
  if (unavailable_as != Outage::kNone) {
    cmd += fmt::format(" --unavailable {} --unavailable-as {}", unavailable,
                       outage_name(unavailable_as));
  }
  if (TEST_bug == PlantedBug::kCommitWaitsForAll && unavailable_as != Outage::kNone) {
    cmd += " --planted-bug commit-waits-for-all";
  } else if (TEST_bug != PlantedBug::kNone) {
    cmd += fmt::format("  (with planted bug #{}, test-only)", static_cast<int>(TEST_bug));
  }
  return cmd;
}

std::string RaftSimReport::summary(const RaftSimOptions& o) const {
  const std::string faults = o.fault_list();
  std::string out = fmt::format(
      "raft simulation seed {} with {} replicas, {} clients, faults [{}]\n"
      "  client ops: {} invoked, {} completed, {} retries\n"
      "  consensus:  commit index {}, {} leaders elected\n"
      "  faults:     {} crashes ({} power losses), {} partitions, {} leadership transfers, {} of "
      "{} "
      "messages dropped, {} duplicated\n"
      "  changes:    {} membership changes ({} learners added, {} promoted, {} voters removed), "
      "{} snapshots taken ({} written in the background, {} of those dropped for the "
      "leader's), {} installed from a leader, {} background flushes\n"
      "  checks:     {} invariant checks, {} client operations linearizable, trace {}\n"
      "  result:     {}\n",
      o.seed, o.replicas, o.clients, faults, ops_invoked, ops_completed, retries, commit_index,
      leaders_elected, crashes, power_losses, partitions, transfers, messages_dropped,
      messages_sent, messages_duplicated, membership_changes, learners_added, promotions, removals,
      snapshots_taken, background_snapshots, snapshots_dropped, snapshots_installed, flushes,
      checks, history_checked, to_hex(trace_hash.view()).substr(0, 16),
      ok() ? "every check held" : "VIOLATION: " + *violation);
  if (o.unavailable_as != Outage::kNone) out += outage_line(o.unavailable_as, unavailable, service);
  if (!ok()) {
    out += "  last events:\n";
    for (const std::string& t : trace_tail) out += "    " + t + "\n";
    out += "  reproduce: " + o.command() + "\n";
  }
  return out;
}

}  // namespace phalanx::sim
