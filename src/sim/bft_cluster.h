// A whole byzantine-mode cluster in one thread, driven by one seed.
//
// Replicas run the real node::BftReplica (BFT core, safety data, WAL of
// committed blocks, KV state machine) on per-replica SimFileSystems and send
// each other encoded frames over a SimNetwork. Up to `byzantine` of them
// (ids 1..byzantine) are liars: each runs a real replica whose output goes
// through an adversary that rewrites, re-signs, drops, delays, replays or
// forges it. Clients sign every request, send it to every replica and accept
// a result on f+1 matching signed replies.
//
// Checks, after every event: agreement (no two honest replicas commit
// different blocks at one height), accountability (no committed accusation
// names an honest replica), checkpoints (one certified root per height; no
// honest replica reported diverged), validity (only client-signed requests
// execute, each at most once per replica), linearizability of the client
// history, and liveness once the network heals and every replica restarts
// (the liars keep lying). The same options replay the same run bit for bit.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "crypto/hash.h"
#include "sim/service.h"

namespace phalanx::sim {

enum class Adversary : std::uint8_t {
  kNone,
  kEquivocate,  // as leader: conflicting blocks to the two halves of the cluster
  kDoubleVote,  // a second vote for another block in every round it votes in
  kWithhold,    // never sends its votes
  kSilent,      // sends nothing at all
  kReplay,      // resends old frames: its own, and other replicas' under its name
  kForge,       // bad signatures, and messages in another replica's name
  kStaleQc,     // as leader: proposes on an old QC
  kBadRequest,  // as leader: puts unsigned and forged client requests in its blocks
  kTiming,      // holds every message until just before the round times out
  kMixed,       // each liar draws one of the above
  // Planted: f+1 colluders that lead three rounds in a row fork the chain
  // (the non-vacuity test: with more than f liars the checks must fail).
  kFork,
};
inline constexpr std::uint8_t kAdversaryMax = 11;
[[nodiscard]] const char* adversary_name(Adversary a);
[[nodiscard]] std::optional<Adversary> adversary_from_name(const std::string& name);

// What the replicas run: the KV store (clients put, get, delete, cas; the
// history is checked for linearizability) or the evidence service (clients
// are sources submitting chained, signed evidence and asking for posteriors
// and inclusion proofs, which they verify).
enum class SimApp : std::uint8_t { kKv, kEvidence };

// Bugs planted (test-only) to show that the checks catch them.
enum class BftPlantedBug : std::uint8_t {
  kNone,
  // The leader rotation ignores reputation (plain round-robin): a silent
  // replica keeps its slot (the service check's ratio).
  kRotationIgnoresReputation,
  // A silent replica is skipped only until its failures leave the window,
  // then leads (and fails) again (the service check's failed rounds).
  kReadmitsSilent,
  // The leader of round r is candidates[r mod size]: when the set changes,
  // a replica may lead the next round again (the service check's failed
  // rounds, with replicas paused in turn).
  kRotationReindexes,
  // A replica that installs a snapshot keeps its core's old leader
  // schedule, diverging from its peers (BftReplica's schedule invariant).
  kInstallKeepsCoreSchedule,
};
[[nodiscard]] const char* planted_bug_name(BftPlantedBug bug);
[[nodiscard]] std::optional<BftPlantedBug> bft_planted_bug_from_name(const std::string& name);

struct BftSimOptions {
  std::uint64_t seed = 1;
  SimApp app = SimApp::kKv;
  int replicas = 4;
  int byzantine = 0;  // ids 1..byzantine lie
  Adversary adversary = Adversary::kNone;
  int clients = 3;
  std::uint64_t safety_ms = 3'000;
  std::uint64_t liveness_ms = 4'000;
  bool crash = true;      // honest replicas are killed and restarted
  bool disk = true;       // power losses (unsynced data lost or torn), EIO, a full disk
  bool partition = true;  // symmetric and one-way partitions
  bool loss = true;
  bool duplicate = true;
  std::uint64_t crash_every_ms = 1'000;
  std::uint64_t partition_every_ms = 1'500;
  // Committed blocks each replica keeps to serve block sync. Small, a
  // replica that was down soon needs a state transfer (a certified snapshot).
  std::size_t blocks_kept = 1024;
  std::uint64_t checkpoint_interval = 16;  // blocks between checkpoints (and snapshots)
  // Once, a tenth into the fault phase, the last replica goes down for
  // this long while the others go on (0: never). With the default
  // blocks_kept, 12 s leaves it more than 1,024 blocks behind.
  std::uint64_t outage_ms = 0;
  // The service check (sim/service.h): `unavailable` honest replicas out
  // for the whole fault phase, the way `unavailable_as` says.
  Outage unavailable_as = Outage::kNone;
  int unavailable = 0;
  // Rounds paced as the node paces them (node::BftPacing: 1 s timeouts,
  // back-off up to 8x); otherwise the simulator's own, five times faster
  // (200 ms, up to 4x).
  bool node_pacing = false;
  BftPlantedBug TEST_bug = BftPlantedBug::kNone;
  bool mix_from_seed = false;  // set by random_bft_mix

  // The `phalanx sim --protocol bft` command line that replays this run.
  [[nodiscard]] std::string command() const;
  [[nodiscard]] std::string fault_list() const;
};

// Draws faults and a liar's behaviour from `seed`: f liars (each one an
// adversary drawn from the list, or `mixed`), each network and disk fault
// on with probability 3/4.
[[nodiscard]] BftSimOptions random_bft_mix(std::uint64_t seed, int replicas);

struct BftSimReport {
  std::uint64_t ops_invoked = 0;
  std::uint64_t ops_completed = 0;
  std::uint64_t retries = 0;
  std::uint64_t height = 0;  // the highest committed height of an honest replica
  std::uint64_t round = 0;   // the highest round an honest replica reached
  std::uint64_t crashes = 0;
  std::uint64_t power_losses = 0;
  std::uint64_t disk_faults = 0;    // EIO or ENOSPC windows on honest replicas' disks
  std::uint64_t stopped_on_io = 0;  // replicas that stopped on an I/O error and restarted
  std::uint64_t partitions = 0;
  std::uint64_t messages_sent = 0;
  std::uint64_t messages_dropped = 0;
  // What the liars tried, by attack ("equivocate", "forge-signature", ...).
  std::map<std::string, std::uint64_t> attacks;
  // What the honest replicas refused, by reason (status().rejected summed).
  std::map<std::string, std::uint64_t> rejected;
  std::uint64_t evidence = 0;          // equivocation proofs the honest replicas hold
  std::set<std::uint64_t> excluded;    // replicas a committed accusation took out of the rotation
  std::uint64_t checkpoints = 0;       // heights with a checkpoint certificate
  std::set<std::uint64_t> diverged;    // replicas reported for signing a false state root
  std::uint64_t replays_answered = 0;  // committed retries answered from the session cache
  std::uint64_t bad_replies = 0;       // client replies that failed their signature or lied
  std::uint64_t evidence_items = 0;    // evidence items accepted on f+1 matching replies
  std::uint64_t proofs_verified = 0;   // inclusion proofs the sources checked
  std::uint64_t snapshots_installed = 0;  // state transfers completed by honest replicas
  std::uint64_t chunks_served = 0;        // snapshot chunks sent by honest replicas
  std::uint64_t outage_lag = 0;           // blocks the cluster was ahead when the outage ended
  std::uint64_t checks = 0;
  std::uint64_t history_checked = 0;
  std::vector<NodeId> unavailable;  // the replicas out (service check)
  ServiceWindow service;            // calls in the outage window (service check)
  std::optional<std::string> violation;
  std::vector<std::string> trace_tail;
  crypto::Hash32 trace_hash;

  [[nodiscard]] bool ok() const { return !violation.has_value(); }
  [[nodiscard]] std::string summary(const BftSimOptions& options) const;
};

[[nodiscard]] BftSimReport run_bft_sim(const BftSimOptions& options);

// The options of a service-check run: `replicas` replicas, no liar, no
// other fault; f of them out `as` (Outage::kNone: the baseline).
[[nodiscard]] BftSimOptions bft_service_options(std::uint64_t seed, int replicas, Outage as);
// Runs the baseline and the outage for `seed` and judges them. The bound
// on a call: two round timeouts. The round a silent replica leads times out
// once (no back-off after a single TC); the round before it waits at most
// until the replica is suspected (silence_ticks) and its votes go to all.
[[nodiscard]] ServiceVerdict check_bft_service(const BftSimOptions& outage);

}  // namespace phalanx::sim
