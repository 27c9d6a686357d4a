// phalanx sim — one deterministic simulation run, summarised on one screen.
#include <fmt/format.h>

#include <sstream>

#include "cli/commands.h"
#include "sim/bft_cluster.h"
#include "sim/raft_cluster.h"

namespace phalanx::cli {
namespace {

constexpr int kExitViolation = 2;

struct SimArgs {
  std::string protocol = "raft";
  std::uint64_t seed = 1;
  std::optional<int> replicas;  // default: 3 (raft), 4 (bft)
  std::uint64_t ticks = 0;      // 0: the default length
  std::string faults;           // empty: draw the mix from the seed
  std::optional<int> byzantine;
  std::string adversary;
  std::string app = "kv";
  std::optional<std::size_t> blocks_kept;
  std::uint64_t outage_ms = 0;
  std::uint64_t checkpoint_interval = 0;
  std::string unavailable_as;      // empty: no service-check outage
  std::optional<int> unavailable;  // default: f
  bool service = false;            // also run the baseline and judge
  bool node_pacing = false;        // bft service check: the node's round timeouts
  std::string planted_bug;
};

// The outage a service-check run asks for (kNone if none).
Result<sim::Outage> parse_outage(const SimArgs& a) {
  if (a.unavailable_as.empty()) {
    if (a.service || a.unavailable) {
      return fail(ErrorCode::kInvalidArgument, "--service and --unavailable need --unavailable-as");
    }
    return sim::Outage::kNone;
  }
  const std::optional<sim::Outage> o = sim::outage_from_name(a.unavailable_as);
  if (!o || *o == sim::Outage::kNone) {
    return fail(ErrorCode::kInvalidArgument,
                "unknown --unavailable-as '" + a.unavailable_as + "' (crash, pause, partition)");
  }
  return *o;
}

// Runs a service-check run (and with --service its baseline) and prints it.
template <class Options, class Run, class Check>
int run_service(const SimArgs& a, Options& o, int f, Run&& run, Check&& check) {
  if (a.unavailable) {
    if (*a.unavailable < 0 || *a.unavailable > f) {
      return report(Error(ErrorCode::kInvalidArgument,
                          fmt::format("--unavailable must be between 0 and f = {}", f)));
    }
    o.unavailable = *a.unavailable;
  }
  if (a.ticks != 0) o.safety_ms = a.ticks * 10;
  const auto r = run(o);
  fmt::print("{}", r.summary(o));
  if (!r.ok()) return kExitViolation;
  if (!a.service) return kExitOk;
  const sim::ServiceVerdict v = check(o);
  fmt::print("{}\n", v.summary());
  return v.ok() ? kExitOk : kExitViolation;
}

// Applies a comma list of faults; false (with the bad name) if one is unknown.
template <class Options>
Result<bool> parse_faults(const std::string& list_text, Options& o, bool raft) {
  o.crash = o.partition = o.loss = o.duplicate = o.disk = false;
  std::stringstream list(list_text);
  for (std::string f; std::getline(list, f, ',');) {
    if (f == "crash") {
      o.crash = true;
    } else if (f == "partition") {
      o.partition = true;
    } else if (f == "loss") {
      o.loss = true;
    } else if (f == "dup") {
      o.duplicate = true;
    } else if (f == "disk") {
      o.disk = true;
    } else if (f != "none" && !(raft && (f == "transfer" || f == "member"))) {
      return fail(ErrorCode::kInvalidArgument, "unknown fault '" + f +
                                                   "' (crash, partition, loss, dup, disk" +
                                                   (raft ? ", transfer, member" : "") + ", none)");
    }
  }
  return true;
}

int run_bft_sim(const SimArgs& a) {
  const int n = a.replicas.value_or(4);
  Result<sim::Outage> outage = parse_outage(a);
  if (!outage) return report(outage.error());
  const std::optional<sim::BftPlantedBug> bug =
      sim::bft_planted_bug_from_name(a.planted_bug.empty() ? "none" : a.planted_bug);
  if (!bug) {
    return report(
        Error(ErrorCode::kInvalidArgument, "unknown bft --planted-bug '" + a.planted_bug +
                                               "' (rotation-ignores-reputation, readmits-silent, "
                                               "rotation-reindexes, install-keeps-core-schedule)"));
  }
  if (*outage != sim::Outage::kNone) {
    if (n < 4) {
      return report(Error(ErrorCode::kInvalidArgument, "byzantine mode needs 4 or more replicas"));
    }
    sim::BftSimOptions o = sim::bft_service_options(a.seed, n, *outage);
    o.TEST_bug = *bug;
    o.node_pacing = a.node_pacing;
    return run_service(a, o, (n - 1) / 3, sim::run_bft_sim, sim::check_bft_service);
  }
  if (a.node_pacing) {
    return report(Error(ErrorCode::kInvalidArgument, "--node-pacing needs --unavailable-as"));
  }
  sim::BftSimOptions o = sim::random_bft_mix(a.seed, n);
  const bool explicit_run = !a.faults.empty() || a.byzantine || !a.adversary.empty() ||
                            a.blocks_kept || a.outage_ms || a.checkpoint_interval;
  if (explicit_run) {
    o = sim::BftSimOptions{};
    o.seed = a.seed;
    o.replicas = n;
    o.byzantine = a.byzantine.value_or((n - 1) / 3);
    o.adversary = sim::Adversary::kMixed;
    if (!a.adversary.empty()) {
      const std::optional<sim::Adversary> adversary = sim::adversary_from_name(a.adversary);
      if (!adversary) {
        return report(Error(ErrorCode::kInvalidArgument,
                            "unknown adversary '" + a.adversary +
                                "' (equivocate, double-vote, withhold, silent, replay, forge, "
                                "stale-qc, bad-request, timing, mixed, fork, none)"));
      }
      o.adversary = *adversary;
    }
    if (!a.faults.empty()) {
      if (Result<bool> parsed = parse_faults(a.faults, o, false); !parsed) {
        return report(parsed.error());
      }
    }
  }
  if (n < 4)
    return report(Error(ErrorCode::kInvalidArgument, "byzantine mode needs 4 or more replicas"));
  if (o.byzantine < 0 || o.byzantine >= n) {
    return report(
        Error(ErrorCode::kInvalidArgument, "--byzantine must be between 0 and replicas-1"));
  }
  o.TEST_bug = *bug;
  if (a.ticks != 0) o.safety_ms = a.ticks * 10;
  if (a.blocks_kept) o.blocks_kept = *a.blocks_kept;
  if (a.outage_ms != 0) o.outage_ms = a.outage_ms;
  if (a.checkpoint_interval != 0) o.checkpoint_interval = a.checkpoint_interval;
  if (a.app == "evidence") {
    o.app = sim::SimApp::kEvidence;
  } else if (a.app != "kv") {
    return report(Error(ErrorCode::kInvalidArgument, "unknown app '" + a.app + "' (kv, evidence)"));
  }
  const sim::BftSimReport r = sim::run_bft_sim(o);
  fmt::print("{}", r.summary(o));
  return r.ok() ? kExitOk : kExitViolation;
}

int run_sim(const SimArgs& a) {
  if (a.protocol == "bft") return run_bft_sim(a);
  if (a.protocol != "raft") {
    return report(
        Error(ErrorCode::kInvalidArgument, "unknown protocol '" + a.protocol + "' (raft, bft)"));
  }
  Result<sim::Outage> outage = parse_outage(a);
  if (!outage) return report(outage.error());
  if (!a.planted_bug.empty() && a.planted_bug != "commit-waits-for-all") {
    return report(
        Error(ErrorCode::kInvalidArgument,
              "unknown raft --planted-bug '" + a.planted_bug + "' (commit-waits-for-all)"));
  }
  if (a.byzantine || !a.adversary.empty() || a.app != "kv" || a.blocks_kept || a.outage_ms ||
      a.checkpoint_interval || a.node_pacing) {
    return report(Error(ErrorCode::kInvalidArgument,
                        "--byzantine, --adversary, --app, --blocks-kept, --checkpoint-interval, "
                        "--outage-ms and --node-pacing need --protocol bft"));
  }
  const int replicas = a.replicas.value_or(3);
  if (*outage != sim::Outage::kNone) {
    sim::RaftSimOptions o = sim::raft_service_options(a.seed, replicas, *outage);
    if (!a.planted_bug.empty()) o.TEST_bug = sim::PlantedBug::kCommitWaitsForAll;
    return run_service(a, o, (replicas - 1) / 2, sim::run_raft_sim, sim::check_raft_service);
  }
  if (!a.planted_bug.empty()) {
    return report(Error(ErrorCode::kInvalidArgument, "--planted-bug needs --unavailable-as"));
  }
  sim::RaftSimOptions o =
      a.faults.empty() ? sim::random_fault_mix(a.seed, replicas) : sim::RaftSimOptions{};
  o.seed = a.seed;
  o.replicas = replicas;
  if (!a.faults.empty()) {
    if (Result<bool> parsed = parse_faults(a.faults, o, true); !parsed)
      return report(parsed.error());
    std::stringstream list(a.faults);
    o.transfer = o.membership = false;
    for (std::string f; std::getline(list, f, ',');) {
      if (f == "transfer") o.transfer = true;
      if (f == "member") o.membership = true;
    }
  }
  if (a.ticks != 0) o.safety_ms = a.ticks * 10;
  const sim::RaftSimReport r = sim::run_raft_sim(o);
  fmt::print("{}", r.summary(o));
  return r.ok() ? kExitOk : kExitViolation;
}

}  // namespace

void add_sim_commands(CLI::App& app, std::function<int()>& run) {
  auto args = std::make_shared<SimArgs>();
  CLI::App* sim = app.add_subcommand(
      "sim",
      "Run one deterministic cluster simulation and check every invariant.\n"
      "Exit code 0 if every check held, 2 on a violation (the output says how to reproduce it)");
  sim->add_option("--protocol", args->protocol, "raft (crash mode) or bft (byzantine mode)")
      ->capture_default_str();
  sim->add_option("--seed", args->seed, "Seed: the same seed replays the same run")
      ->capture_default_str();
  sim->add_option("--replicas", args->replicas, "Number of replicas (default 3 raft, 4 bft)")
      ->check(CLI::Range(1, 10));
  sim->add_option("--byzantine", args->byzantine,
                  "bft: how many replicas lie (ids 1..B; default f = (replicas-1)/3)");
  sim->add_option("--adversary", args->adversary,
                  "bft: what the liars do: equivocate, double-vote, withhold, silent, replay, "
                  "forge, stale-qc, bad-request, timing, mixed (each liar draws one), none, or "
                  "fork (the planted f+1 collusion that must break agreement)");
  sim->add_option("--app", args->app,
                  "bft: kv (clients read and write keys; the history must be linearizable) or "
                  "evidence (clients are sources submitting signed, chained evidence and checking "
                  "inclusion proofs)")
      ->capture_default_str();
  sim->add_option("--blocks-kept", args->blocks_kept,
                  "bft: committed blocks each replica keeps for block sync (default 1024); with "
                  "few, a replica that was down catches up by state transfer")
      ->check(CLI::Range(std::size_t{2}, std::size_t{1} << 20));
  sim->add_option("--checkpoint-interval", args->checkpoint_interval,
                  "bft: committed blocks between checkpoints and snapshots (default 16)")
      ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{1} << 20));
  sim->add_option("--outage-ms", args->outage_ms,
                  "bft: once, an honest replica goes down this long while the others go on");
  sim->add_option("--unavailable-as", args->unavailable_as,
                  "Service check: take f replicas (drawn from the seed) out for the whole fault "
                  "phase as crash, pause (SIGSTOP: messages held), partition, or pause-in-turn "
                  "(another f paused in each third), with no other fault, and report the calls "
                  "served meanwhile, the longest call and the failed rounds led by a replica out");
  sim->add_option("--unavailable", args->unavailable,
                  "Service check: how many replicas are out (default f)");
  sim->add_flag("--service", args->service,
                "Service check: also run the seed without the outage and require at least 60% "
                "of its calls, no call longer than its longest plus the protocol's bound and "
                "(bft) at most 2 failed rounds led by a replica out");
  sim->add_flag("--node-pacing", args->node_pacing,
                "bft service check: pace rounds as the node does (1 s round timeouts, back-off "
                "up to 8x) instead of the simulator's five times faster pacing");
  sim->add_option("--planted-bug", args->planted_bug,
                  "Test-only bugs the checks must catch: rotation-ignores-reputation, "
                  "readmits-silent, rotation-reindexes, install-keeps-core-schedule (bft) or "
                  "commit-waits-for-all (raft, service check)");
  sim->add_option("--ticks", args->ticks,
                  "Length of the fault phase in 10 ms ticks (default 1000), then faults stop");
  sim->add_option("--faults", args->faults,
                  "Comma list of crash,partition,loss,dup,disk,transfer,member (or none); "
                  "default: drawn from the seed. member: nodes join as learners, are promoted, "
                  "voters are removed");
  sim->callback([&run, args] { run = [args] { return run_sim(*args); }; });
}

}  // namespace phalanx::cli
