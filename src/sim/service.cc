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
  }
  return "unknown";
}

std::optional<Outage> outage_from_name(const std::string& name) {
  for (Outage o : {Outage::kNone, Outage::kCrash, Outage::kPause, Outage::kPartition}) {
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

void ServiceWindow::returned(std::uint64_t invoked_ms, std::uint64_t now_ms) {
  if (inside(now_ms)) ++completed_;
  if (inside(invoked_ms)) call_ms_max_ = std::max(call_ms_max_, now_ms - invoked_ms);
}

void ServiceWindow::still_pending(std::uint64_t invoked_ms) {
  if (inside(invoked_ms)) call_ms_max_ = std::max(call_ms_max_, to_ms_ - invoked_ms);
}

std::string outage_line(Outage as, const std::vector<NodeId>& out, const ServiceWindow& w) {
  std::string ids;
  for (NodeId id : out) ids += fmt::format("{}{}", ids.empty() ? "" : ", ", id.value());
  return fmt::format(
      "  outage:     replicas [{}] out ({}) from {} to {} ms: {} calls completed in it, the "
      "longest took {} ms\n",
      ids, outage_name(as), w.from_ms(), w.to_ms(), w.completed(), w.call_ms_max());
}

double ServiceVerdict::ratio() const {
  if (baseline_completed == 0) return 0;
  return static_cast<double>(outage_completed) / static_cast<double>(baseline_completed);
}

std::string ServiceVerdict::summary() const {
  return fmt::format(
      "service: {} calls completed with the outage, {} without ({:.0f}%); longest call {} ms "
      "(without: {} ms, bound {} ms){}",
      outage_completed, baseline_completed, 100 * ratio(), outage_call_ms_max, baseline_call_ms_max,
      call_ms_bound, violation ? ": VIOLATION: " + *violation : std::string());
}

ServiceVerdict judge_service(const ServiceWindow& baseline, const ServiceWindow& outage,
                             std::uint64_t extra_ms) {
  ServiceVerdict v;
  v.baseline_completed = baseline.completed();
  v.outage_completed = outage.completed();
  v.baseline_call_ms_max = baseline.call_ms_max();
  v.outage_call_ms_max = outage.call_ms_max();
  v.call_ms_bound = baseline.call_ms_max() + extra_ms;
  if (v.baseline_completed == 0) {
    v.violation = "the run without an outage completed nothing";
  } else if (v.ratio() < kServiceRatioMin) {
    v.violation = fmt::format("served {:.0f}% of the calls of the run without an outage (at least "
                              "{:.0f}% required)",
                              100 * v.ratio(), 100 * kServiceRatioMin);
  } else if (v.outage_call_ms_max > v.call_ms_bound) {
    v.violation = fmt::format("a call took {} ms (bound {} ms)", v.outage_call_ms_max,
                              v.call_ms_bound);
  }
  return v;
}

}  // namespace phalanx::sim
