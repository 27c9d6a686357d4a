// Who leads a round, decided from committed history only (after Aptos'
// LeaderReputation): every replica that has committed the same blocks
// computes the same leader.
//
// Leaders rotate through the candidates in id order, one round each. Round
// r's candidates are drawn from the committed blocks at or below r - lag
// (its cut), so they change only when the cut reaches another committed
// block (or the stall fallback below starts); then the rotation goes on
// from the previous round's leader among the new candidates: each committed
// block records who leads the first round whose cut reaches it. A change of
// the set moves nobody's place, and, with two candidates or more, no
// replica leads two rounds in a row (found by the simulator: with the
// leader at index r mod size, a paused replica of seven re-indexed into
// slots 303, 304 and 306 as the set changed around it, seed 24 of two
// paused in turn). Before any commit, round r goes to replica r mod n.
// The candidates:
//   - a replica whose equivocation was proved by an accusation committed at
//     or below r - lag is never a candidate again (in this epoch);
//   - a replica that led at least `failures_to_skip` failed rounds among the
//     last `window` such committed blocks since it last led one that
//     committed is skipped until those failures leave the window (a crashed
//     or silent leader stops costing a timeout per rotation);
//   - a replica absent from a full window of such blocks (it proposed none
//     of them and signed none of the QCs and TCs they carry) is skipped until
//     it appears in one: a silent replica stays out of the rotation for as
//     long as it is silent, instead of coming back, and costing another
//     timeout, each time its failures leave the window;
//   - if that leaves no one, or nothing committed in the `stall_rounds`
//     rounds before the cut, every replica not proved to equivocate is a
//     candidate: the schedule changes only on commits, so candidates that
//     cannot form a 2-chain (an honest replica lagging too far to propose,
//     next to one that may lie) would otherwise stay candidates for good.
// A failed round is one with no block in the committed chain: the rounds
// between a committed block and its parent.
//
// Replicas that have committed different prefixes may disagree on a leader
// for a while; that costs liveness (a round times out), never safety — the
// voting rules do not depend on who leads.
//
//   LeaderSchedule s(replicas);
//   s.on_commit(block);            // every committed block, in order
//   NodeId l = s.leader(round);
#pragma once

#include <deque>
#include <map>
#include <span>
#include <vector>

#include "consensus/bft/types.h"

namespace phalanx::bft {

struct ScheduleOptions {
  std::size_t window = 30;  // committed blocks whose failures and signers count
  // Rounds between the history used and the round led. A block is committed
  // by every replica that entered, by a QC, the round two after it (the
  // 2-chain), so with 3 the failure of round r counts from round r + 4 on:
  // a silent leader of 4 misses one turn. Votes go to the leader as the
  // replica forming their QC will compute it (Core::leader_after), so the
  // commits that QC makes do not split the replicas' view of who leads.
  std::uint64_t lag = 3;
  std::size_t failures_to_skip = 1;  // failed rounds led in a row to be skipped
  bool absent_skipped = true;        // the absence rule (off only in planted-bug runs)
  // Rounds without a commit after which the rules above are set aside.
  std::uint64_t stall_rounds = 12;
  // The rotation goes on from the previous round's leader when the set
  // changes; off only in planted-bug runs: candidates[r mod size].
  bool rotation_continues = true;
  bool operator==(const ScheduleOptions&) const = default;
};

class LeaderSchedule {
 public:
  // Rounds with more consecutive failures than this count only this many
  // (the last ones), so a long outage cannot make history unbounded.
  static constexpr std::uint64_t kFailuresPerGapMax = 64;

  explicit LeaderSchedule(std::vector<NodeId> replicas, ScheduleOptions options = {});

  [[nodiscard]] NodeId leader(Round round) const;
  // The next committed block (its parent is the previous one). Accusations
  // in it must have been verified (verify_accusation) before it was voted for.
  void on_commit(const Block& block);

  // Replicas proved to equivocate, with the round of the block that
  // committed the proof.
  [[nodiscard]] const std::map<NodeId, Round>& excluded() const { return excluded_; }
  [[nodiscard]] bool excluded(NodeId id) const { return excluded_.contains(id); }
  // The replicas round r may be led by, in rotation order.
  [[nodiscard]] std::vector<NodeId> candidates(Round round) const;
  // The leaders of the failed rounds just before the last committed block
  // (between its parent and it), oldest first; empty before any commit.
  [[nodiscard]] std::span<const NodeId> last_failed() const;

  // Canonical encoding (part of a replica's checkpointed state).
  void encode(codec::Writer& w) const;
  [[nodiscard]] static Result<LeaderSchedule> decode(codec::Reader& r, std::vector<NodeId> replicas,
                                                     ScheduleOptions options = {});
  bool operator==(const LeaderSchedule&) const = default;

 private:
  // The candidate `steps` places after `previous` (steps >= 1), and the one
  // `steps` places from `first` (0: `first`), in `candidates` (ascending).
  [[nodiscard]] static NodeId after(const std::vector<NodeId>& candidates, NodeId previous,
                                    std::uint64_t steps);
  [[nodiscard]] static NodeId rotate(const std::vector<NodeId>& candidates, NodeId first,
                                     std::uint64_t steps);
  [[nodiscard]] Round cut(Round round) const;

  struct Entry {
    Round round;
    NodeId proposer;
    NodeId first;                // leads round + lag, the first whose cut reaches this block
    std::vector<NodeId> failed;  // leaders of the rounds between the parent and this block
    // The proposer and the signers of the block's QC and TC, ascending.
    std::vector<NodeId> present;
    bool operator==(const Entry&) const = default;
  };

  // `present` as a bit per replica (bit i of byte i/8: replicas_[i]), for
  // the encoding. REQUIRES: every id is a replica.
  [[nodiscard]] Bytes present_bitmap(const std::vector<NodeId>& present) const;
  // nullopt for a bitmap of the wrong length or with bits past the last replica.
  [[nodiscard]] std::optional<std::vector<NodeId>> present_ids(ByteView bitmap) const;

  std::vector<NodeId> replicas_;
  ScheduleOptions options_;
  std::deque<Entry> recent_;  // committed blocks, oldest first; at most window + lag
  std::map<NodeId, Round> excluded_;
  Round last_round_;  // of the last committed block
};

}  // namespace phalanx::bft
