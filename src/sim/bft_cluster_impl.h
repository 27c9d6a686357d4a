// Internals of the byzantine simulator (sim/bft_cluster.h), shared by
// bft_cluster.cc (replicas, network, clients, faults, checks) and
// bft_liars.cc (the adversaries and the planted fork). Not a public API.
#pragma once

#include <deque>
#include <memory>
#include <set>
#include <tuple>
#include <variant>

#include "apps/evidence/evidence.h"
#include "consensus/bft/wire.h"
#include "consensus/common/reply_quorum.h"
#include "node/bft_replica.h"
#include "security/registry.h"
#include "sim/bft_cluster.h"
#include "sim/linearizability.h"
#include "sim/network.h"
#include "sim/sim_file_system.h"
#include "sim/sim_support.h"

namespace phalanx::sim::bft_detail {

constexpr std::uint64_t kTickMs = 10;
constexpr std::uint64_t kClientTimeoutMs = 500;
constexpr std::uint32_t kRoundTimeoutTicks = 20;  // each replica's base round timeout
constexpr std::uint64_t kReplicaTickMsMax = 12;   // replicas tick every 8-12 ms
constexpr std::uint64_t kLivenessBoundMs = 3'500;
constexpr std::uint64_t kDrainMs = 1'000;
constexpr std::uint64_t kClientBase = 1000;  // network ids of clients
constexpr std::uint64_t kForcePowerLossMs = 100;
constexpr std::size_t kTraceTail = 40;
constexpr std::size_t kRememberedFrames = 32;  // what a replayer keeps to replay
constexpr std::uint32_t kSnapshotChunkBytes = 512;
const Epoch kEpoch{1};

using Wire = std::variant<Bytes, consensus::ClientCall, consensus::ClientAnswer>;

crypto::KeyPair replica_key(NodeId id);
crypto::KeyPair client_key(ClientId id);
ClusterId cluster_id();

struct Node {
  NodeId id;
  Adversary adversary = Adversary::kNone;  // kNone: honest
  std::unique_ptr<SimFileSystem> fs;
  std::unique_ptr<node::BftReplica> replica;  // null while down
  std::optional<crypto::KeyPair> key;
  bool up = false;
  bool lost_power = false;
  std::uint64_t down_until = 0;
  std::uint64_t power_loss_since = 0;
  std::uint64_t disk_faults_until = 0;  // EIO or ENOSPC on its disk until then (0: none)
  std::uint64_t tick_ms = 10;
  std::uint64_t lives = 0;
  // Paused (service check): not ticked; what reaches it waits until the heal.
  bool paused = false;
  std::deque<SimNetwork<Wire>::Delivery> held;
  // A liar's memory.
  std::deque<std::pair<NodeId, Bytes>> sent;         // its own frames (to, frame)
  std::deque<Bytes> heard;                           // other replicas' frames
  std::optional<consensus::ClientRequest> captured;  // a client-signed request it saw
  std::deque<bft::QuorumCert> qcs;                   // QCs it saw, oldest first
  Round attacked_round;  // the last round a leader attack was counted in

  [[nodiscard]] bool honest() const { return adversary == Adversary::kNone; }
};

struct Pending {
  std::uint64_t sequence;
  Bytes request;  // the encoded, client-signed ClientRequest
  std::uint64_t invoked_at;
  std::uint64_t sent_at;
  std::size_t history_index;
  std::uint64_t first_call;
  consensus::ReplyQuorum replies;
};

// An evidence source's view of its own chain (SimApp::kEvidence).
struct SourceChain {
  std::uint64_t sequence = 0;
  crypto::Hash32 head;
  std::int64_t time_ms = 0;
};

struct Client {
  ClientId id;
  SourceChain chain;
  std::optional<evidence::EvidenceCommand> evidence;  // the pending evidence command
  NodeId address;
  std::uint64_t next_sequence = 1;
  std::uint64_t next_call = 1;
  std::optional<Pending> pending;
  std::uint64_t next_op_at = 0;
  std::uint64_t completed_after_heal = 0;
};

// The colluders' shared plan for the planted fork (Adversary::kFork).
struct Fork {
  bool active = false;
  bool done = false;
  NodeId planner;  // the colluder that started it (liars never crash)
  std::uint64_t started_at = 0;
  std::vector<NodeId> half[2];
  std::vector<bft::Block> branch[2];
  std::map<std::pair<Round, bft::BlockId>, std::map<NodeId, crypto::Signature>> votes;
};
class Cluster {
 public:
  explicit Cluster(const BftSimOptions& options);
  BftSimReport run();

 private:
  Node& node(NodeId id) { return nodes_[id.value() - 1]; }
  NodeId random_node() { return ids_[rng_.uniform(ids_.size())]; }
  // Who leads `r`, as the liars' own replicas see it (they follow the
  // committed history like everyone else).
  NodeId leader(const Node& liar, Round r) const { return liar.replica->core().leader(r); }

  void trace(std::string what) { trace_.add(now_, std::move(what)); }

  void violated(std::string what);
  void attack(const char* kind) { ++attacks_[kind]; }

  // ---- Replicas ----

  void start(Node& n);
  void crash(Node& n, bool power_loss, const char* why);

  // Counters of a replica about to go away.
  void collect(const Node& n);
  void after_input(Node& n);
  void tick(Node& n);

  // ---- Messages ----

  void deliver(SimNetwork<Wire>::Delivery& d);

  // ---- Liars ----

  // What a liar learns from the frames it receives.
  void remember(Node& n, NodeId from, const Bytes& frame, const bft::Payload& body);
  static void capture(Node& n, const Bytes& request);
  void send_as(Node& n, NodeId to, const bft::Payload& body);

  // A liar's outgoing frame goes through its adversary.
  void lie(Node& n, NodeId to, Bytes frame);

  // A validly signed block for the same round that differs from `b`.
  std::optional<bft::Block> conflicting(const Node& n, const bft::Block& b);

  // Three kinds: a captured request with a broken signature, one for a
  // client that does not exist (signed by the liar), one for another cluster.
  consensus::ClientRequest forged_request(const Node& n, Round round);
  void replay(Node& n);
  void forge(Node& n, NodeId to, const bft::Payload& body);
  void lie_to_client(Node& n, consensus::ClientAnswer& a);
  // A snapshot chunk a liar serves: corrupted, under a forged certificate,
  // or (its chunk 0) a different state in one chunk with a consistent manifest.
  void lie_about_snapshot(Node& n, NodeId to, bft::SnapshotChunk chunk);
  // The state of `n`'s snapshot at `height`, read whole from its disk.
  [[nodiscard]] static std::optional<Bytes> own_snapshot(Node& n, std::uint64_t height);
  void release_delayed();

  // ---- The planted fork (f+1 colluders) ----

  [[nodiscard]] bool colluder(NodeId id) { return !node(id).honest(); }

  // Returns true if the colluder's frame is swallowed by the plan.
  bool fork_step(Node& n, const bft::Payload& body);
  void fork_send(int side);

  // Honest votes reaching a colluder, for a block of the fork: with the
  // colluders' own votes they certify each branch, which then grows.
  void fork_intercept(const bft::Payload& body);

  // ---- Clients ----

  // Every attempt goes to every replica, with the same signed request.
  void client_send(Client& c);
  void client_step(Client& c, bool may_start);
  void client_answer(Client& c, NodeId from, const consensus::ClientAnswer& answer);
  // SimApp::kEvidence: the next command of source `c`, and what its
  // accepted reply must say.
  [[nodiscard]] evidence::EvidenceCommand next_evidence_command(Client& c, std::uint64_t sequence);
  void check_evidence_reply(Client& c, const Bytes& accepted);
  // EIO on writes and syncs, or a full disk, on an honest replica for a
  // while; a replica that then stops on the error is restarted like a crash.
  void inject_disk_fault();

  // ---- Faults (on honest replicas and the network) ----

  void inject_faults();
  // Takes the service check's replicas out (sim/service.h) when the window
  // or (kPauseInTurn) a turn in it starts, resuming the previous turn's.
  void step_unavailability();
  // Delivers what a paused replica was sent meanwhile and ticks it again.
  void resume(Node& n);
  void heal_everything();

  // ---- Checks ----

  // Agreement: one block per height among honest replicas.
  void on_commit(NodeId id, const bft::Block& b, std::uint64_t height,
                 std::span<const NodeId> failed_leaders);

  // Validity: only client-signed requests execute, each at most once per replica.
  void on_apply(NodeId id, const consensus::ClientRequest& r, bool executed);
  // Checkpoints: one certified root per height, and only liars diverge from it.
  void on_certified(NodeId id, const bft::CheckpointCert& c);
  void on_diverged(NodeId id, const bft::Divergence& d);
  // A state transfer: its certified root must be the only one certified for its height.
  void on_installed(NodeId id, const bft::CheckpointCert& c);
  void check_liveness();

  // Every honest replica is up, committed past where the cluster stood when
  // the faults stopped, and replicas at the same height hold the same state.
  void check_convergence();
  BftSimReport report();

  BftSimOptions o_;
  Random rng_;
  SimNetwork<Wire> net_;
  security::TrustRegistry registry_;
  consensus::Quorum quorum_;
  std::vector<NodeId> ids_;
  std::vector<Node> nodes_;
  std::vector<Client> clients_;
  std::map<std::pair<std::uint64_t, std::uint64_t>, std::tuple<NodeId, NodeId, Bytes>> delayed_;
  std::uint64_t delayed_seq_ = 0;
  Fork fork_;
  std::vector<std::pair<bft::BlockId, NodeId>> committed_;  // by height - 1: block, first committer
  std::vector<std::uint64_t> committed_round_;
  std::set<std::uint64_t> excluded_;                   // accused in committed blocks
  std::map<std::uint64_t, crypto::Hash32> certified_;  // checkpoint roots by height
  std::set<std::uint64_t> diverged_;                   // replicas reported diverged
  std::set<std::tuple<NodeId, ClientId, std::uint64_t>> executed_;
  std::vector<KvOperation> history_;
  std::map<std::string, std::uint64_t> attacks_;
  std::map<std::string, std::uint64_t> rejected_;
  std::optional<std::string> violation_;
  TraceLog trace_{kTraceTail};
  std::uint64_t now_ = 0;
  std::uint64_t partition_until_ = 0;
  std::uint64_t heal_height_ = 0;
  std::uint64_t max_round_ = 0;
  std::uint64_t ops_invoked_ = 0;
  std::uint64_t ops_completed_ = 0;
  std::uint64_t retries_ = 0;
  std::uint64_t crashes_ = 0;
  std::uint64_t power_losses_ = 0;
  std::uint64_t partitions_ = 0;
  std::uint64_t replays_answered_ = 0;
  std::uint64_t bad_replies_ = 0;
  std::uint64_t evidence_items_ = 0;
  std::uint64_t disk_faults_ = 0;
  std::uint64_t stopped_on_io_ = 0;
  std::uint64_t proofs_verified_ = 0;
  std::uint64_t snapshots_installed_ = 0;
  bool outage_done_ = false;
  std::optional<NodeId> outage_node_;  // down for the outage, not restarted yet
  std::vector<NodeId> unavailable_;    // the service check's replicas, once out
  std::vector<NodeId> out_now_;        // of those, the ones out now
  OutageSchedule outages_;
  std::map<NodeId, std::uint64_t> silent_failures_;  // failed rounds led while out, this turn
  ServiceWindow service_;
  std::uint64_t outage_lag_ = 0;
  std::uint64_t chunks_served_ = 0;
  std::uint64_t checks_ = 0;
  std::uint64_t history_checked_ = 0;
};

}  // namespace phalanx::sim::bft_detail
