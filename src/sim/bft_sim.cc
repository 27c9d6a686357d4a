// Byzantine mode under simulated liars and faults: many seeds, every check
// after every event, and proof that the checks can fail.
#include <gtest/gtest.h>

#include <cstdio>

#include "sim/bft_cluster.h"
#include "sim/seeds.h"

namespace phalanx::sim {
namespace {

// Under the sanitizers (./dev test runs the suites twice) a tenth of the
// seeds: the release run is the swarm, this one looks for memory errors.
#if defined(__SANITIZE_ADDRESS__)
constexpr std::uint64_t kSeedShare = 10;
#else
constexpr std::uint64_t kSeedShare = 1;
#endif

std::string counts(const std::map<std::string, std::uint64_t>& m) {
  std::string out;
  for (const auto& [k, v] : m) out += (out.empty() ? "" : ", ") + k + " " + std::to_string(v);
  return out;
}

void run_seeds(int replicas, std::uint64_t default_seeds) {
  std::map<std::string, std::uint64_t> attacks;
  std::map<std::string, std::uint64_t> rejected;
  std::map<std::string, std::uint64_t> runs;
  std::uint64_t evidence = 0;
  std::uint64_t replays = 0;
  std::uint64_t checkpoints = 0;
  std::uint64_t excluded = 0;  // seeds in which a liar left the rotation
  std::uint64_t diverged = 0;  // seeds in which a liar was reported diverged
  std::uint64_t disk_faults = 0;
  std::uint64_t stopped_on_io = 0;
  const std::vector<std::uint64_t> seeds = sim_seeds(default_seeds / kSeedShare);
  for (std::uint64_t seed : seeds) {
    const BftSimOptions options = random_bft_mix(seed, replicas);
    const BftSimReport report = run_bft_sim(options);
    ASSERT_TRUE(report.ok()) << report.summary(options);
    ++runs[adversary_name(options.adversary)];
    for (const auto& [k, v] : report.attacks) attacks[k] += v;
    for (const auto& [k, v] : report.rejected) rejected[k] += v;
    evidence += report.evidence;
    replays += report.replays_answered;
    checkpoints += report.checkpoints;
    excluded += report.excluded.empty() ? 0 : 1;
    diverged += report.diverged.empty() ? 0 : 1;
    disk_faults += report.disk_faults;
    stopped_on_io += report.stopped_on_io;
  }
  std::printf(
      "%zu seeds with %d replicas\n  adversaries: %s\n  attacks: %s\n  refused: %s\n"
      "  %lu equivocation proofs, %lu retries answered from the session cache\n",
      seeds.size(), replicas, counts(runs).c_str(), counts(attacks).c_str(),
      counts(rejected).c_str(), static_cast<unsigned long>(evidence),
      static_cast<unsigned long>(replays));
  std::printf(
      "  %lu checkpoints certified; a liar excluded from the rotation in %lu seeds, "
      "reported diverged in %lu\n",
      static_cast<unsigned long>(checkpoints), static_cast<unsigned long>(excluded),
      static_cast<unsigned long>(diverged));
  std::printf(
      "  %lu EIO or full-disk windows; %lu replicas stopped on an I/O error and recovered\n",
      static_cast<unsigned long>(disk_faults), static_cast<unsigned long>(stopped_on_io));
  if (seeds.size() >= 150) {
    // Every kind of lie was tried, and the lies that can be refused were.
    for (const char* a : {"equivocate", "double-vote", "withhold-vote", "silent", "replay-own",
                          "replay-other", "forge-signature", "forge-identity", "forge-address",
                          "stale-qc", "bad-request", "timing", "lying-reply", "false-checkpoint"}) {
      EXPECT_GT(attacks[a], 0u) << a;
    }
    for (const char* r : {"equivocation", "bad_request", "safety_rule", "signature_invalid",
                          "authentication_failed", "malformed_input"}) {
      EXPECT_GT(rejected[r], 0u) << r;
    }
    EXPECT_GT(evidence, 0u);
    EXPECT_GT(replays, 0u);
    EXPECT_GT(checkpoints, 0u);
    EXPECT_GT(excluded, 0u);
    EXPECT_GT(diverged, 0u);
    EXPECT_GT(disk_faults, 0u);
    EXPECT_GT(stopped_on_io, 0u);
  }
}

TEST(BftSimulation, FourReplicasOneLiarMixedFaults) { run_seeds(4, 300); }

// The evidence service on the byzantine log, under every adversary and fault
// mix: honest sources' chained items are all admitted, every inclusion proof
// they ask for verifies, and honest replicas reach one digest per height
// (checkpoint certificates and the convergence check).
TEST(BftSimulation, TheEvidenceServiceAgreesUnderLiarsAndFaults) {
  std::uint64_t items = 0;
  std::uint64_t proofs = 0;
  std::uint64_t checkpoints = 0;
  std::map<std::string, std::uint64_t> runs;
  const std::vector<std::uint64_t> seeds = sim_seeds(60 / kSeedShare);
  for (std::uint64_t seed : seeds) {
    BftSimOptions options = random_bft_mix(seed, seed % 3 == 0 ? 7 : 4);
    options.app = SimApp::kEvidence;
    const BftSimReport report = run_bft_sim(options);
    ASSERT_TRUE(report.ok()) << report.summary(options);
    ++runs[adversary_name(options.adversary)];
    items += report.evidence_items;
    proofs += report.proofs_verified;
    checkpoints += report.checkpoints;
  }
  std::printf(
      "%zu evidence seeds\n  adversaries: %s\n  %lu items accepted, %lu proofs verified, "
      "%lu checkpoints certified\n",
      seeds.size(), counts(runs).c_str(), static_cast<unsigned long>(items),
      static_cast<unsigned long>(proofs), static_cast<unsigned long>(checkpoints));
  EXPECT_GT(items, 10 * seeds.size());
  EXPECT_GT(proofs, seeds.size());
  EXPECT_GT(checkpoints, 0u);
}
TEST(BftSimulation, SevenReplicasTwoLiarsMixedFaults) { run_seeds(7, 200); }

// What each liar's attempts get from the honest replicas, on a calm
// network (so every attempt is delivered): attempts counted, refusals
// counted by reason, every check still holding.
struct Expectation {
  Adversary adversary;
  const char* attack;
  const char* refused;    // nullptr: nothing to refuse (withheld); liveness is the check
  bool excluded = false;  // the proof commits and the liar leaves the leader rotation
};

TEST(BftSimulation, EachAdversaryIsRefused) {
  const Expectation table[] = {
      {Adversary::kEquivocate, "equivocate", "equivocation", true},
      {Adversary::kDoubleVote, "double-vote", "equivocation", true},
      {Adversary::kWithhold, "withhold-vote", nullptr},
      {Adversary::kSilent, "silent", nullptr},
      {Adversary::kReplay, "replay-other", "authentication_failed"},
      {Adversary::kForge, "forge-signature", "signature_invalid"},
      {Adversary::kStaleQc, "stale-qc", "safety_rule"},
      {Adversary::kBadRequest, "bad-request", "bad_request"},
      {Adversary::kTiming, "timing", nullptr},
  };
  for (const Expectation& e : table) {
    for (std::uint64_t seed = 1; seed <= 3; ++seed) {
      BftSimOptions o;
      o.seed = seed;
      o.byzantine = 1;
      o.adversary = e.adversary;
      o.crash = o.disk = o.partition = false;
      const BftSimReport r = run_bft_sim(o);
      ASSERT_TRUE(r.ok()) << r.summary(o);
      EXPECT_GT(r.attacks.count(e.attack) ? r.attacks.at(e.attack) : 0, 0u) << r.summary(o);
      if (e.refused) {
        EXPECT_GT(r.rejected.count(e.refused) ? r.rejected.at(e.refused) : 0, 0u) << r.summary(o);
      }
      EXPECT_GT(r.ops_completed, 10u) << r.summary(o);
      if (e.excluded) {
        EXPECT_TRUE(r.excluded.contains(1)) << r.summary(o);
      }
    }
  }
}

// Non-vacuity: f+1 colluders (3 of 7) that lead three rounds in a row fork
// the chain: each half of the honest replicas commits its own block. The
// agreement check must see it. With f liars the same plan never gets a QC.
TEST(BftSimulation, FPlusOneColludersBreakAgreementAndTheCheckSeesIt) {
  std::uint64_t found = 0;
  for (std::uint64_t seed = 1; seed <= 10 && found == 0; ++seed) {
    BftSimOptions o;
    o.seed = seed;
    o.replicas = 7;
    o.byzantine = 3;
    o.adversary = Adversary::kFork;
    o.crash = o.disk = o.partition = o.loss = o.duplicate = false;
    const BftSimReport r = run_bft_sim(o);
    if (!r.ok()) {
      EXPECT_NE(r.violation->find("agreement"), std::string::npos) << r.summary(o);
      found = seed;
    }
  }
  EXPECT_NE(found, 0u) << "the planted fork never broke agreement";
}

// State transfer: an honest replica down while the others commit more than
// the 1,024 blocks anyone keeps for block sync comes back, learns a
// checkpoint certificate, fetches a certified snapshot (from a liar too,
// which lies about half the chunks it serves), installs it and converges
// with the others. The liars here still vote, so the cluster goes on
// without the replica that is down.
TEST(BftSimulation, AReplicaDownForMoreThan1024BlocksCatchesUpByStateTransfer) {
  for (const Adversary a : {Adversary::kNone, Adversary::kForge, Adversary::kReplay}) {
    if (kSeedShare > 1 && a != Adversary::kForge) continue;
    BftSimOptions o;
    o.seed = 1;
    o.byzantine = a == Adversary::kNone ? 0 : 1;
    o.adversary = a;
    o.crash = o.disk = o.partition = o.loss = o.duplicate = false;
    o.safety_ms = 90'000;
    o.outage_ms = 80'000;
    const BftSimReport r = run_bft_sim(o);
    ASSERT_TRUE(r.ok()) << r.summary(o);
    EXPECT_GT(r.outage_lag, 1'024u) << r.summary(o);
    EXPECT_GE(r.snapshots_installed, 1u) << r.summary(o);
  }
}

// The same, shorter and many times: 4 or 7 replicas keeping 24 blocks, a
// replica down for 5 s, liars that lie about snapshots, lost and
// duplicated messages, disk faults. Every lie about a snapshot is refused
// and every check holds.
TEST(BftSimulation, StateTransferUnderLyingPeersAndFaults) {
  const Adversary cooperating[] = {Adversary::kForge,      Adversary::kReplay,
                                   Adversary::kDoubleVote, Adversary::kEquivocate,
                                   Adversary::kStaleQc,    Adversary::kBadRequest};
  std::map<std::string, std::uint64_t> attacks;
  std::map<std::string, std::uint64_t> rejected;
  std::uint64_t installed = 0;
  const std::vector<std::uint64_t> seeds = sim_seeds(40 / kSeedShare);
  for (std::uint64_t seed : seeds) {
    BftSimOptions o;
    o.seed = seed;
    o.replicas = seed % 4 == 0 ? 7 : 4;
    o.byzantine = (o.replicas - 1) / 3;
    o.adversary = cooperating[seed % std::size(cooperating)];
    o.crash = o.partition = false;
    o.safety_ms = 6'000;
    o.outage_ms = 5'000;
    o.blocks_kept = 24;
    const BftSimReport r = run_bft_sim(o);
    ASSERT_TRUE(r.ok()) << r.summary(o);
    for (const auto& [k, v] : r.attacks) attacks[k] += v;
    for (const auto& [k, v] : r.rejected) rejected[k] += v;
    installed += r.snapshots_installed;
  }
  std::printf("%zu state-transfer seeds: %lu snapshots installed\n  attacks: %s\n  refused: %s\n",
              seeds.size(), static_cast<unsigned long>(installed), counts(attacks).c_str(),
              counts(rejected).c_str());
  EXPECT_GE(installed, seeds.size() / 4);
  if (kSeedShare == 1) {
    for (const char* a : {"snapshot-bad-chunk", "snapshot-false-state", "snapshot-forged-cert"}) {
      EXPECT_GT(attacks[a], 0u) << a;
    }
    EXPECT_GT(rejected["snapshot_refused"], 0u);
  }
}

// Seeds that once found a bug, replayed on every run.
TEST(BftSimulation, RegressionSeeds) {
  // 255: a replica that caught up by block sync while its snapshot fetch was
  // in flight refused an honest peer's (now stale) snapshot as a lie.
  for (const auto& [seed, replicas] : {std::pair{255, 4}}) {
    const BftSimOptions o = random_bft_mix(static_cast<std::uint64_t>(seed), replicas);
    const BftSimReport r = run_bft_sim(o);
    EXPECT_TRUE(r.ok()) << r.summary(o);
  }
}

TEST(BftSimulation, SameSeedSameRun) {
  const BftSimOptions options = random_bft_mix(42, 4);
  const BftSimReport a = run_bft_sim(options);
  const BftSimReport b = run_bft_sim(options);
  EXPECT_EQ(a.trace_hash, b.trace_hash);
  EXPECT_EQ(a.ops_completed, b.ops_completed);
  EXPECT_NE(run_bft_sim(random_bft_mix(43, 4)).trace_hash, a.trace_hash);
}

}  // namespace
}  // namespace phalanx::sim
