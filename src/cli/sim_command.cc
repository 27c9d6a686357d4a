// phalanx sim — one deterministic simulation run, summarised on one screen.
#include <fmt/format.h>

#include <sstream>

#include "cli/commands.h"
#include "sim/raft_cluster.h"

namespace phalanx::cli {
namespace {

constexpr int kExitViolation = 2;

struct SimArgs {
  std::string protocol = "raft";
  std::uint64_t seed = 1;
  int replicas = 3;
  std::uint64_t ticks = 0;  // 0: the default length
  std::string faults;       // empty: draw the mix from the seed
};

int run_sim(const SimArgs& a) {
  if (a.protocol != "raft") {
    return report(Error(ErrorCode::kInvalidArgument,
                        "protocol '" + a.protocol + "' is not available yet (only raft)"));
  }
  sim::RaftSimOptions o =
      a.faults.empty() ? sim::random_fault_mix(a.seed, a.replicas) : sim::RaftSimOptions{};
  o.seed = a.seed;
  o.replicas = a.replicas;
  if (!a.faults.empty()) {
    o.crash = o.partition = o.loss = o.duplicate = o.disk = o.transfer = o.membership = false;
    std::stringstream list(a.faults);
    for (std::string f; std::getline(list, f, ',');) {
      if (f == "crash")
        o.crash = true;
      else if (f == "partition")
        o.partition = true;
      else if (f == "loss")
        o.loss = true;
      else if (f == "dup")
        o.duplicate = true;
      else if (f == "disk")
        o.disk = true;
      else if (f == "transfer")
        o.transfer = true;
      else if (f == "member")
        o.membership = true;
      else if (f != "none") {
        return report(Error(ErrorCode::kInvalidArgument,
                            "unknown fault '" + f +
                                "' (crash, partition, loss, dup, disk, transfer, member, none)"));
      }
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
  sim->add_option("--protocol", args->protocol, "raft")->capture_default_str();
  sim->add_option("--seed", args->seed, "Seed: the same seed replays the same run")
      ->capture_default_str();
  sim->add_option("--replicas", args->replicas, "Number of replicas")
      ->check(CLI::Range(1, 9))
      ->capture_default_str();
  sim->add_option("--ticks", args->ticks,
                  "Length of the fault phase in 10 ms ticks (default 1000), then faults stop");
  sim->add_option("--faults", args->faults,
                  "Comma list of crash,partition,loss,dup,disk,transfer,member (or none); "
                  "default: drawn from the seed. member: nodes join as learners, are promoted, "
                  "voters are removed");
  sim->callback([&run, args] { run = [args] { return run_sim(*args); }; });
}

}  // namespace phalanx::cli
