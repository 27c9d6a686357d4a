#include "consensus/bft/leaders.h"

#include <algorithm>
#include <set>

namespace phalanx::bft {

LeaderSchedule::LeaderSchedule(std::vector<NodeId> replicas, ScheduleOptions options)
    : replicas_(std::move(replicas)), options_(options) {
  PHALANX_ASSERT(!replicas_.empty());
  PHALANX_ASSERT(std::is_sorted(replicas_.begin(), replicas_.end()));
  PHALANX_ASSERT(options_.window > 0);
}

std::vector<NodeId> LeaderSchedule::candidates(Round round) const {
  const Round cut{round.value() > options_.lag ? round.value() - options_.lag : 0};
  // The last `window` committed blocks at or below the cut.
  auto end = std::upper_bound(recent_.begin(), recent_.end(), cut,
                              [](Round r, const Entry& e) { return r < e.round; });
  auto begin = end - std::min<std::ptrdiff_t>(end - recent_.begin(),
                                              static_cast<std::ptrdiff_t>(options_.window));
  // Newest first, each replica's run of failed rounds since the last round
  // it led that committed a block.
  std::map<NodeId, std::size_t> failed_streak;
  std::set<NodeId> succeeded;
  for (auto it = end; it != begin;) {
    --it;
    succeeded.insert(it->proposer);
    for (auto f = it->failed.rbegin(); f != it->failed.rend(); ++f) {
      if (!succeeded.contains(*f)) ++failed_streak[*f];
    }
  }
  const auto proved = [&](NodeId id) {
    const auto e = excluded_.find(id);
    return e != excluded_.end() && e->second <= cut;
  };
  std::vector<NodeId> out;
  for (NodeId id : replicas_) {
    const bool failing = failed_streak[id] >= options_.failures_to_skip;
    if (!proved(id) && !failing) out.push_back(id);
  }
  if (out.empty()) {
    for (NodeId id : replicas_) {
      if (!proved(id)) out.push_back(id);
    }
  }
  if (out.empty()) out = replicas_;
  return out;
}

NodeId LeaderSchedule::leader(Round round) const {
  const std::vector<NodeId> c = candidates(round);
  return c[round.value() % c.size()];
}

void LeaderSchedule::on_commit(const Block& block) {
  PHALANX_ASSERT(block.round > last_round_);
  Entry e{block.round, block.proposer, {}};
  const std::uint64_t first_gap = last_round_.value() + 1;
  const std::uint64_t from = std::max(first_gap, block.round.value() > kFailuresPerGapMax
                                                     ? block.round.value() - kFailuresPerGapMax
                                                     : 0);
  for (std::uint64_t r = from; r < block.round.value(); ++r) e.failed.push_back(leader(Round{r}));
  recent_.push_back(std::move(e));
  while (recent_.size() > options_.window + options_.lag) recent_.pop_front();
  for (const Accusation& a : block.accusations) excluded_.try_emplace(a.accused(), block.round);
  last_round_ = block.round;
}

void LeaderSchedule::encode(codec::Writer& w) const {
  w.id(last_round_);
  w.varint(recent_.size());
  for (const Entry& e : recent_) {
    w.id(e.round);
    w.id(e.proposer);
    w.sequence(std::span<const NodeId>(e.failed), kFailuresPerGapMax,
               [](codec::Writer& o, NodeId id) { o.id(id); });
  }
  w.varint(excluded_.size());
  for (const auto& [id, round] : excluded_) {
    w.id(id);
    w.id(round);
  }
}

Result<LeaderSchedule> LeaderSchedule::decode(codec::Reader& r, std::vector<NodeId> replicas,
                                              ScheduleOptions options) {
  LeaderSchedule s(std::move(replicas), options);
  const auto known = [&](NodeId id) {
    return std::binary_search(s.replicas_.begin(), s.replicas_.end(), id);
  };
  const std::size_t at = r.offset();
  const auto bad = [&] { return codec::Reader::malformed(MalformedReason::kNonCanonical, at); };
  PHALANX_ASSIGN_OR_RETURN(s.last_round_, r.id<Round>());
  PHALANX_ASSIGN_OR_RETURN(const std::uint64_t entries,
                           r.varint_max(options.window + options.lag));
  for (std::uint64_t i = 0; i < entries; ++i) {
    Entry e;
    PHALANX_ASSIGN_OR_RETURN(e.round, r.id<Round>());
    PHALANX_ASSIGN_OR_RETURN(e.proposer, r.id<NodeId>());
    PHALANX_ASSIGN_OR_RETURN(e.failed, r.sequence<NodeId>(kFailuresPerGapMax, [](codec::Reader& in) {
      return in.id<NodeId>();
    }));
    const bool ascending = s.recent_.empty() || s.recent_.back().round < e.round;
    if (!ascending || e.round > s.last_round_ || !known(e.proposer) ||
        !std::all_of(e.failed.begin(), e.failed.end(), known)) {
      return bad();
    }
    s.recent_.push_back(std::move(e));
  }
  PHALANX_ASSIGN_OR_RETURN(const std::uint64_t excluded, r.varint_max(s.replicas_.size()));
  for (std::uint64_t i = 0; i < excluded; ++i) {
    PHALANX_ASSIGN_OR_RETURN(const NodeId id, r.id<NodeId>());
    PHALANX_ASSIGN_OR_RETURN(const Round round, r.id<Round>());
    const bool ascending = s.excluded_.empty() || s.excluded_.rbegin()->first < id;
    if (!ascending || !known(id) || round > s.last_round_) return bad();
    s.excluded_.emplace(id, round);
  }
  return s;
}

}  // namespace phalanx::bft
