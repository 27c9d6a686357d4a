// A load run's results: what was asked, what happened, and its renderings
// (pure): a human table, JSON, and an SVG of throughput and latency over time.
//
//   Recorder rec;                                   // shared by the workers
//   rec.record(OpKind::kPut, latency_ns, /*ok=*/true);
//   rec.close_interval(1.0);                        // once a second
//   RunResult r = rec.result(settings, seconds);
//   fmt::print("{}", to_table(r));
#pragma once

#include <array>
#include <mutex>
#include <string>
#include <vector>

#include "loadgen/histogram.h"
#include "loadgen/workload.h"

namespace phalanx::loadgen {

struct RunSettings {
  std::string target;  // what was measured, e.g. "phalanx byzantine n=4"
  std::uint32_t concurrency = 1;
  OpMix mix;
  Distribution distribution = Distribution::kUniform;
  std::uint64_t key_space = 0;
  std::size_t value_bytes = 64;
  double warmup_seconds = 0;
};

// One interval of the run (a second, usually): operations completed in it
// and their latency percentiles.
struct Interval {
  double end_seconds = 0;  // since measuring began
  std::uint64_t ops = 0;
  double ops_per_second = 0;
  std::uint64_t p50_ns = 0;
  std::uint64_t p99_ns = 0;
};

struct RunResult {
  RunSettings settings;
  double seconds = 0;               // measured time, warm-up excluded
  std::uint64_t errors = 0;         // calls that failed (timed out, refused)
  std::uint64_t cas_conflicts = 0;  // read-modify-writes whose cas found another value
  std::array<Histogram, 3> by_op;   // successful operations, by OpKind
  Histogram all;
  std::vector<Interval> timeline;

  [[nodiscard]] std::uint64_t ops() const { return all.count(); }
  [[nodiscard]] double ops_per_second() const {
    return seconds > 0 ? static_cast<double>(all.count()) / seconds : 0;
  }
};

// Thread-safe collector the workers record into.
class Recorder {
 public:
  void record(OpKind op, std::uint64_t latency_ns, bool ok, bool cas_conflict = false);
  // Ends the current interval at `end_seconds` into the run.
  void close_interval(double end_seconds);
  // Forgets everything recorded (the end of the warm-up).
  void reset();
  // Operations and percentiles so far, for a progress line.
  struct Progress {
    std::uint64_t ops = 0;
    std::uint64_t errors = 0;
    std::uint64_t p50_ns = 0;
    std::uint64_t p99_ns = 0;
  };
  [[nodiscard]] Progress progress() const;
  [[nodiscard]] RunResult result(RunSettings settings, double seconds) const;

 private:
  mutable std::mutex mu_;
  RunResult run_;
  Histogram interval_;
  double interval_start_ = 0;
};

[[nodiscard]] std::string to_table(const RunResult& r);
[[nodiscard]] std::string to_json(const RunResult& r);
// Two panels over time: operations per second, and p50/p99 latency (ms).
[[nodiscard]] std::string plot_svg(const RunResult& r);

}  // namespace phalanx::loadgen
