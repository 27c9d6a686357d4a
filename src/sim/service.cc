#include "sim/service.h"

#include <fmt/format.h>

#include <algorithm>

namespace phalanx::sim {

const char* outage_name(Outage o) {
  switch (o) {
    case Outage::kNone: return "none";
    case Outage::kCrash: return "crash";
    case Outage::kPause: return "pause";
    case Outage::kPartition: return "partition";
    case Outage::kPauseInTurn: return "pause-in-turn";
  }
  return "unknown";
}

std::optional<Outage> outage_from_name(const std::string& name) {
  for (Outage o : {Outage::kNone, Outage::kCrash, Outage::kPause, Outage::kPartition,
                   Outage::kPauseInTurn}) {
    if (name == outage_name(o)) return o;
  }
  return std::nullopt;
}

std::vector<NodeId> pick_unavailable(std::uint64_t seed, const std::vector<NodeId>& ids,
                                     int count) {
  PHALANX_ASSERT(count >= 0);
  PHALANX_ASSERT(static_cast<std::size_t>(count) <= ids.size());
  Random rng(seed * 0x2545f4914f6cdd1dULL + 61);
  std::vector<NodeId> pool = ids;
  std::vector<NodeId> out;
  for (int i = 0; i < count; ++i) {
    const std::size_t at = rng.uniform(pool.size());
    out.push_back(pool[at]);
    pool.erase(pool.begin() + static_cast<std::ptrdiff_t>(at));
  }
  std::sort(out.begin(), out.end());
  return out;
}

OutageSchedule::OutageSchedule(Outage as, std::uint64_t seed, std::vector<NodeId> ids, int count,
                               std::uint64_t from_ms, std::uint64_t to_ms)
    : as_(as), count_(count), from_ms_(from_ms) {
  PHALANX_ASSERT(to_ms > from_ms);
  if (as_ != Outage::kPauseInTurn) {
    order_ = pick_unavailable(seed, ids, count);
    turn_ms_ = to_ms - from_ms;
    return;
  }
  Random draw(seed * 0x9e3779b97f4a7c15ULL + 7);
  while (!ids.empty()) {
    const std::size_t at = draw.uniform(ids.size());
    order_.push_back(ids[at]);
    ids.erase(ids.begin() + static_cast<std::ptrdiff_t>(at));
  }
  turn_ms_ = (to_ms - from_ms) / kTurns;
}

std::optional<std::vector<NodeId>> OutageSchedule::starting(std::uint64_t now_ms) const {
  if (as_ == Outage::kNone || now_ms < from_ms_ || (now_ms - from_ms_) % turn_ms_ != 0) {
    return std::nullopt;
  }
  const std::uint64_t turn = (now_ms - from_ms_) / turn_ms_;
  if (turn >= (as_ == Outage::kPauseInTurn ? kTurns : 1)) return std::nullopt;
  if (as_ != Outage::kPauseInTurn) return order_;
  std::vector<NodeId> out;
  for (int i = 0; i < count_; ++i) {
    const std::uint64_t at = turn * static_cast<std::uint64_t>(count_) + static_cast<std::uint64_t>(i);
    out.push_back(order_[at % order_.size()]);
  }
  std::sort(out.begin(), out.end());
  return out;
}

void ServiceWindow::returned(std::uint64_t invoked_ms, std::uint64_t now_ms) {
  if (inside(now_ms)) ++completed_;
  if (inside(invoked_ms)) call_ms_max_ = std::max(call_ms_max_, now_ms - invoked_ms);
}

void ServiceWindow::still_pending(std::uint64_t invoked_ms) {
  if (inside(invoked_ms)) call_ms_max_ = std::max(call_ms_max_, to_ms_ - invoked_ms);
}

void ServiceWindow::silent_leader_failed(std::uint64_t count) {
  silent_leader_failures_max_ = std::max(silent_leader_failures_max_, count);
}

std::string outage_line(Outage as, const std::vector<NodeId>& out, const ServiceWindow& w) {
  std::string ids;
  for (NodeId id : out) ids += fmt::format("{}{}", ids.empty() ? "" : ", ", id.value());
  return fmt::format(
      "  outage:     replicas [{}] out ({}) from {} to {} ms: {} calls completed in it, the "
      "longest took {} ms, at most {} failed rounds led by one replica out\n",
      ids, outage_name(as), w.from_ms(), w.to_ms(), w.completed(), w.call_ms_max(),
      w.silent_leader_failures_max());
}

double ServiceVerdict::ratio() const {
  if (baseline_completed == 0) return 0;
  return static_cast<double>(outage_completed) / static_cast<double>(baseline_completed);
}

std::string ServiceVerdict::summary() const {
  return fmt::format(
      "service: {} calls completed with the outage, {} without ({:.0f}%); longest call {} ms "
      "(without: {} ms, bound {} ms); at most {} failed rounds led by one replica out{}",
      outage_completed, baseline_completed, 100 * ratio(), outage_call_ms_max, baseline_call_ms_max,
      call_ms_bound, silent_leader_failures_max, violation ? ": VIOLATION: " + *violation : std::string());
}

ServiceVerdict judge_service(const ServiceWindow& baseline, const ServiceWindow& outage,
                             std::uint64_t extra_ms) {
  ServiceVerdict v;
  v.baseline_completed = baseline.completed();
  v.outage_completed = outage.completed();
  v.baseline_call_ms_max = baseline.call_ms_max();
  v.outage_call_ms_max = outage.call_ms_max();
  v.call_ms_bound = baseline.call_ms_max() + extra_ms;
  v.silent_leader_failures_max = outage.silent_leader_failures_max();
  if (v.baseline_completed == 0) {
    v.violation = "the run without an outage completed nothing";
  } else if (v.ratio() < kServiceRatioMin) {
    v.violation = fmt::format("served {:.0f}% of the calls of the run without an outage (at least "
                              "{:.0f}% required)",
                              100 * v.ratio(), 100 * kServiceRatioMin);
  } else if (v.outage_call_ms_max > v.call_ms_bound) {
    v.violation = fmt::format("a call took {} ms (bound {} ms)", v.outage_call_ms_max,
                              v.call_ms_bound);
  } else if (v.silent_leader_failures_max > kSilentLeaderFailuresMax) {
    v.violation = fmt::format("a replica out led {} failed rounds before the rotation skipped it "
                              "for good (at most {})",
                              v.silent_leader_failures_max, kSilentLeaderFailuresMax);
  }
  return v;
}

}  // namespace phalanx::sim
