#include "sim/raft_checkers.h"

#include <fmt/format.h>

namespace phalanx::sim {

void RaftChecker::violated(std::string what) {
  if (!violation_) violation_ = std::move(what);
}

void RaftChecker::observe(const raft::Core& core) {
  const NodeId id = core.id();
  ++checks_;
  if (core.applied_index() > core.commit_index()) {
    violated(fmt::format("node {} applied {} beyond its commit index {}", id.value(),
                         core.applied_index().value(), core.commit_index().value()));
  }
  LogIndex& seen = commit_seen_[id];
  if (core.commit_index() < seen) {
    violated(fmt::format("node {} commit index went back from {} to {}", id.value(), seen.value(),
                         core.commit_index().value()));
  }
  seen = core.commit_index();
  if (core.role() != raft::RaftRole::kLeader) return;
  const auto [it, first] = leaders_.emplace(core.term(), id);
  if (it->second != id) {
    violated(fmt::format("two leaders in term {}: nodes {} and {}", core.term().value(),
                         it->second.value(), id.value()));
    return;
  }
  if (!first) return;
  // A new leader: it must hold every entry committed before its term.
  ++checks_;
  for (const auto& [index, entry] : committed_) {
    // Entries up to the base are in its snapshot: only the base's term is left.
    if (index < core.base_index().value()) continue;
    const bool holds =
        index == core.base_index().value()
            ? core.term_at(LogIndex{index}) == entry.term
            : core.entry(LogIndex{index}) != nullptr && *core.entry(LogIndex{index}) == entry;
    if (!holds) {
      violated(fmt::format("leader {} of term {} lacks committed entry {} (term {})", id.value(),
                           core.term().value(), index, entry.term.value()));
      return;
    }
  }
}

void RaftChecker::on_apply(NodeId node, const raft::Entry& entry, bool executed) {
  ++checks_;
  const auto [it, first] = committed_.emplace(entry.index.value(), entry);
  if (!first && it->second != entry) {
    violated(fmt::format(
        "state machine safety: index {} applied as term {} on one replica and "
        "term {} on node {}",
        entry.index.value(), it->second.term.value(), entry.term.value(), node.value()));
  }
  if (!executed || entry.kind != raft::EntryKind::kCommand) return;
  Result<kv::KvCommand> c = codec::decode<kv::KvCommand>(entry.data);
  if (!c) return;
  const auto [e, fresh] =
      executed_[node].emplace(std::make_pair(c->client, c->sequence), entry.index);
  if (!fresh && e->second != entry.index) {
    violated(fmt::format("client {} sequence {} executed twice on node {} (indexes {} and {})",
                         c->client.value(), c->sequence, node.value(), e->second.value(),
                         entry.index.value()));
  }
}

void RaftChecker::on_restart(NodeId node) {
  commit_seen_.erase(node);
  executed_.erase(node);  // the state machine is rebuilt from the log
}

void RaftChecker::check_log_matching(const std::vector<const raft::Core*>& cores) {
  for (std::size_t a = 0; a < cores.size(); ++a) {
    for (std::size_t b = a + 1; b < cores.size(); ++b) {
      ++checks_;
      const raft::Core& ca = *cores[a];
      const raft::Core& cb = *cores[b];
      // Compare where both still hold entries (compaction drops prefixes).
      const std::uint64_t lo = std::max(ca.base_index(), cb.base_index()).value() + 1;
      std::uint64_t i = std::min(ca.last_index(), cb.last_index()).value();
      // The highest index where both hold the same term...
      while (i >= lo && ca.term_at(LogIndex{i}) != cb.term_at(LogIndex{i})) --i;
      // ...and everything from lo up to it must be identical.
      for (std::uint64_t k = lo; k <= i; ++k) {
        if (*ca.entry(LogIndex{k}) != *cb.entry(LogIndex{k})) {
          violated(
              fmt::format("log matching: nodes {} and {} agree on term at index {} but "
                          "differ at index {}",
                          ca.id().value(), cb.id().value(), i, k));
          return;
        }
      }
    }
  }
}

}  // namespace phalanx::sim
