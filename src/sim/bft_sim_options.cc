// BFT simulation options: adversary names, the mix drawn from a seed, the
// command line that replays a run, and the one-screen summary of its report.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/random.h"
#include "sim/bft_cluster.h"

namespace phalanx::sim {

const char* adversary_name(Adversary a) {
  switch (a) {
    case Adversary::kNone: return "none";
    case Adversary::kEquivocate: return "equivocate";
    case Adversary::kDoubleVote: return "double-vote";
    case Adversary::kWithhold: return "withhold";
    case Adversary::kSilent: return "silent";
    case Adversary::kReplay: return "replay";
    case Adversary::kForge: return "forge";
    case Adversary::kStaleQc: return "stale-qc";
    case Adversary::kBadRequest: return "bad-request";
    case Adversary::kTiming: return "timing";
    case Adversary::kMixed: return "mixed";
    case Adversary::kFork: return "fork";
  }
  return "unknown";
}

std::optional<Adversary> adversary_from_name(const std::string& name) {
  for (std::uint8_t i = 0; i <= kAdversaryMax; ++i) {
    const auto a = static_cast<Adversary>(i);
    if (name == adversary_name(a)) return a;
  }
  return std::nullopt;
}

std::string BftSimOptions::fault_list() const {
  std::string faults;
  for (const auto& [on, name] : {std::pair{crash, "crash"},
                                 {partition, "partition"},
                                 {loss, "loss"},
                                 {duplicate, "dup"},
                                 {disk, "disk"}}) {
    if (on) faults += faults.empty() ? name : std::string(",") + name;
  }
  return faults;
}

BftSimOptions random_bft_mix(std::uint64_t seed, int replicas) {
  Random r(seed * 0x9e3779b97f4a7c15ULL + 29);
  BftSimOptions o;
  o.seed = seed;
  o.replicas = replicas;
  o.byzantine = (replicas - 1) / 3;
  o.adversary = static_cast<Adversary>(r.between(1, 10));  // every one but the planted fork
  o.crash = !r.one_in(4);
  o.disk = !r.one_in(4);
  o.partition = !r.one_in(4);
  o.loss = !r.one_in(4);
  o.duplicate = !r.one_in(4);
  static constexpr std::uint64_t kEveryMs[] = {3'000, 1'000, 400};
  o.crash_every_ms = kEveryMs[r.uniform(3)];
  o.partition_every_ms = kEveryMs[r.uniform(3)];
  // Half the seeds keep so few blocks that a replica a few blocks behind
  // needs a state transfer, with a checkpoint (and snapshot) every 4 blocks.
  if (r.coin()) {
    o.blocks_kept = 4;
    o.checkpoint_interval = 4;
  }
  o.outage_ms = r.coin() ? r.between(1'000, 2'000) : 0;
  o.mix_from_seed = true;
  return o;
}

const char* planted_bug_name(BftPlantedBug bug) {
  switch (bug) {
    case BftPlantedBug::kNone: return "none";
    case BftPlantedBug::kRotationIgnoresReputation: return "rotation-ignores-reputation";
    case BftPlantedBug::kReadmitsSilent: return "readmits-silent";
    case BftPlantedBug::kRotationReindexes: return "rotation-reindexes";
    case BftPlantedBug::kInstallKeepsCoreSchedule: return "install-keeps-core-schedule";
  }
  return "unknown";
}

std::optional<BftPlantedBug> bft_planted_bug_from_name(const std::string& name) {
  for (BftPlantedBug b : {BftPlantedBug::kNone, BftPlantedBug::kRotationIgnoresReputation,
                          BftPlantedBug::kReadmitsSilent, BftPlantedBug::kRotationReindexes,
                          BftPlantedBug::kInstallKeepsCoreSchedule}) {
    if (name == planted_bug_name(b)) return b;
  }
  return std::nullopt;
}

std::string BftSimOptions::command() const {
  std::string cmd =
      fmt::format("phalanx sim --protocol bft --seed {} --replicas {}", seed, replicas);
  if (app == SimApp::kEvidence) cmd += " --app evidence";
  if (!mix_from_seed) {
    const std::string faults = fault_list();
    cmd += fmt::format(" --byzantine {} --adversary {} --ticks {} --faults {}", byzantine,
                       adversary_name(adversary), safety_ms / 10, faults.empty() ? "none" : faults);
    if (blocks_kept != BftSimOptions{}.blocks_kept)
      cmd += fmt::format(" --blocks-kept {}", blocks_kept);
    if (checkpoint_interval != BftSimOptions{}.checkpoint_interval) {
      cmd += fmt::format(" --checkpoint-interval {}", checkpoint_interval);
    }
    if (outage_ms != 0) cmd += fmt::format(" --outage-ms {}", outage_ms);
  }
  if (unavailable_as != Outage::kNone) {
    cmd += fmt::format(" --unavailable {} --unavailable-as {}", unavailable,
                       outage_name(unavailable_as));
  }
  if (node_pacing) cmd += " --node-pacing";
  if (TEST_bug != BftPlantedBug::kNone) {
    cmd += fmt::format(" --planted-bug {}", planted_bug_name(TEST_bug));
  }
  return cmd;
}

std::string BftSimReport::summary(const BftSimOptions& o) const {
  auto counts = [](const std::map<std::string, std::uint64_t>& m) {
    std::string out;
    for (const auto& [k, v] : m) out += fmt::format("{}{} {}", out.empty() ? "" : ", ", k, v);
    return out.empty() ? std::string("none") : out;
  };
  std::string out = fmt::format(
      "bft simulation seed {} with {} replicas ({} byzantine: {}), {} clients, faults [{}]\n"
      "  client ops: {} invoked, {} completed, {} retries, {} replays answered from the cache\n"
      "  consensus:  height {}, round {}\n"
      "  faults:     {} crashes ({} power losses), {} partitions, {} of {} messages dropped{}\n"
      "  disk:       {} EIO or full-disk windows, {} replicas stopped on an I/O error and "
      "restarted\n"
      "  attacks:    {}\n"
      "  refused:    {}; {} equivocation proofs held; {} bad client replies discarded\n"
      "  excluded:   {} (proven equivocators out of the leader rotation)\n"
      "  checkpoints: {} certified; diverged: {}; {} snapshots installed by state transfer "
      "({} chunks served, {} blocks kept, every {} blocks)\n"
      "  evidence:   {} items accepted, {} inclusion proofs verified\n"
      "  checks:     {} invariant checks, {} client operations linearizable, trace {}\n"
      "  result:     {}\n",
      o.seed, o.replicas, o.byzantine, adversary_name(o.adversary), o.clients, o.fault_list(),
      ops_invoked, ops_completed, retries, replays_answered, height, round, crashes, power_losses,
      partitions, messages_dropped, messages_sent,
      o.outage_ms != 0
          ? fmt::format("; one replica down {} ms, {} blocks behind", o.outage_ms, outage_lag)
          : std::string(),
      disk_faults, stopped_on_io, counts(attacks), counts(rejected), evidence, bad_replies,
      excluded.empty() ? std::string("none") : fmt::format("{}", fmt::join(excluded, ", ")),
      checkpoints,
      diverged.empty() ? std::string("none") : fmt::format("{}", fmt::join(diverged, ", ")),
      snapshots_installed, chunks_served, o.blocks_kept, o.checkpoint_interval, evidence_items,
      proofs_verified, checks, history_checked, to_hex(trace_hash.view()).substr(0, 16),
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
