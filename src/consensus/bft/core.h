// The pure BFT core (byzantine mode): Jolteon / DiemBFT-v4 with a 2-chain
// commit rule. Rules and the safety argument: docs/protocol-bft.md.
//
// No sockets, files, clocks or threads. The runner authenticates every
// signed message (security::verify) before it gets here; the core checks the
// rest: the proposer is the round's leader, every certificate (verify_qc,
// verify_tc), every client request's signature, and the safety rules.
// The runner must handle each Ready in this order:
//   1. persist `safety` (fsync) — it covers every vote and timeout in `messages`;
//   2. persist `committed` blocks, then send `messages`;
//   3. apply `committed` in order; store `evidence`.
//
//   bft::Core core(config, recovered_safety, recovered_tip);
//   core.tick();
//   core.on_proposal(authorized_block);  core.on_vote(v);  core.on_timeout(t);
//   core.submit(authorized_request);     // the mempool; proposed when this replica leads
//   bft::Ready ready = core.take_ready();
#pragma once

#include <deque>
#include <map>
#include <set>
#include <variant>

#include "consensus/bft/checkpoint.h"
#include "consensus/bft/leaders.h"
#include "consensus/bft/safety.h"
#include "consensus/bft/state_transfer.h"
#include "consensus/bft/types.h"
#include "core/trust.h"

namespace phalanx::bft {

struct Config {
  NodeId id;
  std::vector<NodeId> replicas;  // sorted; the leader rotation
  Validators validators;
  ClusterId cluster = {};  // client requests signed for another cluster get no vote
  // Doubles per round ended by a TC after the first in a row, up to the
  // max: one failed round is a silent leader, not a timeout too short for
  // the network, and costs one base timeout.
  std::uint32_t round_timeout_ticks = 20;
  std::uint32_t round_timeout_ticks_max = 320;
  // A replica heard nothing fresh from for this long is suspected silent: a
  // vote meant for it as the next leader also goes to every other replica
  // (at once, or when the suspicion arises while the round waits), so each
  // forms the QC itself and the round before a silent leader's is not lost
  // with it (only the silent leader's own round times out).
  std::uint32_t silence_ticks = 5;
  // An idle leader (no requests, nothing to commit) proposes an empty block
  // once its round is this many ticks old, keeping the chain (and its
  // timeouts) quiet while there is nothing to order. Below round_timeout_ticks.
  std::uint32_t idle_propose_ticks = 1;
  std::size_t batch_max = 256;               // client requests per block
  std::size_t block_bytes_max = 12u << 20;   // an encoded block; larger ones get no vote
  std::size_t sync_blocks_max = 64;          // per sync response
  std::size_t sync_bytes_max = 48u << 20;    // per sync response (at least one block is sent)
  std::size_t committed_blocks_kept = 1024;  // served to replicas that fell behind
  std::size_t waiting_blocks_max = 1024;     // blocks parked until their ancestors arrive
  ScheduleOptions schedule = {};             // leader reputation (consensus/bft/leaders.h)
};

// "Send me block `block` and the ancestors I may lack."
struct SyncRequest {
  BlockId block;
};
// Oldest first; the last is the block asked for. Each block is checked by
// hash against its child's QC, so no signature is needed.
struct SyncResponse {
  std::vector<Block> blocks;
};

// Checkpoints and state transfer are handled by the runner (they concern
// application state), not the core.
using Payload = std::variant<Block, Vote, Timeout, SyncRequest, SyncResponse, Checkpoint,
                             SnapshotRequest, SnapshotChunk>;

struct Message {
  NodeId to;
  Payload body;
};

// Two validly signed messages of one author for one round that conflict.
struct EquivocationProof {
  NodeId author;
  Round round;
  Payload first;
  Payload second;
};

// Why a message got no further (counted; nothing changed).
enum class Rejection : std::uint8_t {
  kWrongEpoch,
  kNotLeader,       // a proposal from a replica that does not lead its round
  kBadCertificate,  // a QC or TC that does not verify
  kBadRequest,      // a client request in a proposal that does not verify
  kEquivocation,    // the second of two conflicting messages
  kSafetyRule,      // a proposal this replica's safety rules refuse to vote for
  kBadSync,         // a sync response that does not hash-chain to what was asked
  kStale,           // for a round long gone
  kBacklogFull,     // a block that would need parking while waiting_blocks_max are parked
  kBadAccusation,   // a proposal carrying an accusation that proves nothing
};
inline constexpr std::size_t kRejectionKinds = 10;
[[nodiscard]] const char* rejection_name(Rejection r);

struct Ready {
  std::optional<SafetyData> safety;  // persist first
  // Blocks this replica voted for or proposed: persist with the safety data,
  // so that after a crash it can still serve a block it helped certify
  // (otherwise a certified block could survive only at the liars).
  std::vector<Block> voted;
  std::vector<Message> messages;
  std::vector<Block> committed;  // in commit order
  std::vector<EquivocationProof> evidence;

  [[nodiscard]] bool empty() const {
    return !safety && voted.empty() && messages.empty() && committed.empty() && evidence.empty();
  }
};

class Core {
 public:
  // `tip`: the last committed block (the genesis block on a fresh replica);
  // `voted`: the blocks of earlier Ready::voted that a restarted replica
  // still holds (those at or below the tip are ignored); `schedule`: the
  // leader schedule after the tip (every committed block fed to on_commit),
  // a fresh one if absent.
  Core(Config config, crypto::KeyPair key, SafetyData safety, Block tip,
       std::vector<Block> voted = {}, std::optional<LeaderSchedule> schedule = {});

  // The committed blocks before the tip, oldest first, ending with the
  // tip's parent (a restarted replica reads them from its WAL): kept, up to
  // committed_blocks_kept, to serve replicas that fell behind.
  void remember(std::vector<Block> committed);
  // A state transfer: `tip` (the last block of a certified state) becomes
  // the committed tip and `schedule` the leader schedule after it. Blocks at
  // or below it are forgotten; those waiting for it are taken in.
  // REQUIRES: tip.round above the committed tip's.
  void install(Block tip, LeaderSchedule schedule);

  void tick();
  void on_proposal(const Authenticated<Block>& block);
  void on_vote(const Authenticated<Vote>& vote);
  void on_timeout(const Authenticated<Timeout>& timeout);
  void on_sync_request(NodeId from, const SyncRequest& request);
  void on_sync_response(NodeId from, SyncResponse response);
  // A client request the runner admitted (its signature verified, its
  // command allowed to the signer); kept until committed.
  void submit(const Authorized<consensus::ClientRequest>& request);

  [[nodiscard]] Ready take_ready();

  [[nodiscard]] NodeId id() const { return config_.id; }
  [[nodiscard]] Round round() const { return round_; }
  [[nodiscard]] NodeId leader(Round round) const;
  [[nodiscard]] const QuorumCert& high_qc() const { return high_qc_; }
  // Blocks certified above the committed tip are missing here, and block
  // sync is asking peers for them.
  [[nodiscard]] bool syncing() const {
    return !waiting_for_parent_.empty() || !wanted_.empty() || syncing_.has_value();
  }
  [[nodiscard]] const Block& committed_tip() const { return blocks_.at(committed_); }
  [[nodiscard]] std::uint64_t committed_blocks() const { return committed_count_; }
  [[nodiscard]] const SafetyData& safety() const { return safety_.data(); }
  [[nodiscard]] std::uint64_t rejections(Rejection r) const {
    return rejections_[static_cast<std::size_t>(r)];
  }
  [[nodiscard]] std::size_t mempool_size() const { return mempool_.size(); }
  // Replicas this one holds equivocation proof against. They leave the
  // leader rotation once a block carrying the proof commits (schedule()).
  [[nodiscard]] const std::set<NodeId>& equivocators() const { return equivocators_; }
  [[nodiscard]] const LeaderSchedule& schedule() const { return schedule_; }
  // Test-only: plain round-robin from now on (a planted bug).
  void TEST_ignore_reputation();

 private:
  using Key = std::pair<ClientId, std::uint64_t>;

  void reject(Rejection r) { ++rejections_[static_cast<std::size_t>(r)]; }
  [[nodiscard]] bool certified(const QuorumCert& qc);
  [[nodiscard]] bool requests_valid(const Block& block) const;
  // Equivocation bookkeeping: true if `payload` conflicts with an earlier one.
  bool conflicts(NodeId author, Round round, const BlockId& what, const Payload& payload,
                 std::map<std::pair<NodeId, Round>, std::pair<BlockId, Payload>>& seen);

  void process_qc(const QuorumCert& qc);
  void process_tc(const TimeoutCert& tc);
  void try_commit(const QuorumCert& qc);
  // After the committed tip moved to `tip_round`: forgets what can no
  // longer matter (blocks off the chain, certificates, wants, parked blocks
  // at or below it) and keeps the last committed_blocks_kept of the chain.
  void forget_below(Round tip_round);
  // Inserts the blocks that were waiting for `parent`.
  void adopt_children(const BlockId& parent);
  void advance_round(Round round, bool by_timeout);
  void propose(bool idle_ok);
  void insert_block(Block block);
  // Parks `block` until its parent arrives; false (counted) when the backlog is full.
  bool park(Block block);
  // True if `id` is wanted (a parked block's parent, or an ancestor a
  // commit needs) and neither known nor parked.
  [[nodiscard]] bool missing(const BlockId& id) const;
  // Asks `peer` for `id` and its ancestors, unless another request is still
  // outstanding and fresh (one at a time; retried on tick, rotating peers).
  void request_sync(const BlockId& id, NodeId peer);
  void retry_sync();
  // The replica after `after` in the rotation, never this one.
  [[nodiscard]] NodeId next_peer(NodeId after) const;
  void vote_for(const Block& block);
  // The leader of the round after `block`'s, as the replica that forms the
  // block's QC will compute it (after what that QC commits).
  [[nodiscard]] NodeId leader_after(const Block& block) const;
  // Sends this round's vote to every replica but its next leader `next`
  // (which has it already) and counts it here.
  void broadcast_vote(const Vote& vote, NodeId next);
  // Notes a fresh message (of the current round or the one before) from `peer`.
  void heard_from(NodeId peer, Round round);
  [[nodiscard]] bool suspected(NodeId peer) const;
  void local_timeout();
  void broadcast(const Payload& body);
  void send(NodeId to, Payload body);
  void handle_vote(const Vote& vote);
  void handle_timeout(const Timeout& timeout);

  Config config_;
  LeaderSchedule schedule_;  // follows the committed chain
  SafetyRules safety_;
  bool safety_dirty_ = false;

  Round round_{1};
  QuorumCert high_qc_;
  std::optional<TimeoutCert> last_tc_;
  std::map<BlockId, Block> blocks_;  // known blocks: the committed tip and everything after
  BlockId committed_;
  std::uint64_t committed_count_ = 0;
  std::deque<BlockId> chain_;  // the committed blocks kept, oldest first
  std::map<BlockId, std::vector<Block>> waiting_for_parent_;  // by the parent they wait for
  std::set<BlockId> parked_;                                  // ids of the blocks waiting
  // Blocks to fetch: certified blocks not received, and ancestors a commit
  // found missing. Each with the round of the certified block that needs it:
  // once the committed tip reaches that round, it is no longer needed.
  std::map<BlockId, Round> wanted_;
  // The one sync request outstanding: the missing block, who was asked, ticks since.
  struct Syncing {
    BlockId block;
    NodeId asked;
    std::uint32_t age = 0;
  };
  std::optional<Syncing> syncing_;

  std::map<std::pair<Round, BlockId>, std::map<NodeId, crypto::Signature>> votes_;
  std::map<Round, std::map<NodeId, Timeout>> timeouts_;
  std::map<std::pair<NodeId, Round>, std::pair<BlockId, Payload>> seen_proposals_;
  std::map<std::pair<NodeId, Round>, std::pair<BlockId, Payload>> seen_votes_;
  std::map<std::pair<NodeId, Round>, std::pair<BlockId, Payload>> seen_timeouts_;
  std::set<NodeId> equivocators_;
  // Proofs to put in this replica's proposals until they commit, one per author.
  std::map<NodeId, Accusation> accusations_;
  // QCs whose signatures were checked, by (round, block): the high QC comes
  // back in every timeout and proposal, and is verified once. Pruned below
  // the committed tip.
  std::map<std::pair<Round, BlockId>, std::vector<QcSigner>> verified_qcs_;

  std::deque<consensus::ClientRequest> mempool_;
  std::set<Key> in_mempool_;

  bool should_propose_ = false;  // this replica leads the round and has not proposed yet
  Round proposed_;               // the last round this replica proposed (or tried to) in
  std::uint32_t elapsed_ = 0;
  std::uint32_t timeout_ticks_ = 0;
  std::uint32_t timeouts_in_a_row_ = 0;  // rounds ended by a TC since the last QC
  std::uint64_t ticks_ = 0;              // since this core started
  std::map<NodeId, std::uint64_t> heard_at_;  // tick of the last fresh message, by peer
  // The vote of the current round and its next leader, while only that leader has it.
  std::optional<std::pair<Vote, NodeId>> vote_to_leader_;
  std::uint64_t rejections_[kRejectionKinds] = {};

  Ready ready_;
};

}  // namespace phalanx::bft
