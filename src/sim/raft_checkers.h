// Safety invariants of a simulated Raft cluster, checked after every event
// (docs/protocol-raft.md lists where each one comes from).
//
//   election safety     at most one leader per term
//   leader completeness a new leader holds every entry committed so far
//   log matching        same index and term => identical logs up to there
//   state machine       no two replicas apply different entries at an index
//   commit monotonic    a replica's commit index never goes back (per life)
//   applied <= commit
//   exactly once        a (client, sequence) executes at one index only
//
// The first violation is kept; checks stop counting after it.
#pragma once

#include <map>
#include <optional>
#include <string>

#include "apps/kv/kv.h"
#include "consensus/raft/core.h"

namespace phalanx::sim {

class RaftChecker {
 public:
  // After any event that may have changed `core`.
  void observe(const raft::Core& core);
  // A replica applied `entry`; `executed` if the state machine ran it (not
  // answered from the session cache).
  void on_apply(NodeId node, const raft::Entry& entry, bool executed);
  // A replica's process restarted: its volatile state starts over.
  void on_restart(NodeId node);
  // Pairwise over every replica that is up.
  void check_log_matching(const std::vector<const raft::Core*>& cores);

  [[nodiscard]] const std::optional<std::string>& violation() const { return violation_; }
  [[nodiscard]] std::uint64_t checks() const { return checks_; }
  [[nodiscard]] std::uint64_t leaders_elected() const { return leaders_.size(); }
  [[nodiscard]] std::uint64_t committed() const { return committed_.size(); }

 private:
  void violated(std::string what);

  std::map<Term, NodeId> leaders_;
  std::map<std::uint64_t, raft::Entry> committed_;  // applied somewhere => committed
  std::map<NodeId, LogIndex> commit_seen_;
  std::map<NodeId, std::map<std::pair<ClientId, std::uint64_t>, LogIndex>> executed_;
  std::optional<std::string> violation_;
  std::uint64_t checks_ = 0;
};

}  // namespace phalanx::sim
