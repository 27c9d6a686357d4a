// phalanx_bench: Google Benchmark plus a closing summary in which every
// figure stands next to a baseline measured in the same run, because
// absolute numbers on a shared, noisy machine mean little and ratios do.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <map>
#include <string>

namespace {

struct Ratio {
  const char* label;
  const char* measured;
  const char* baseline;
  const char* unit;  // of the measured figure; "s" and "us" show time, not rate
  double scale;      // measured rate is divided by this for display
  const char* baseline_label;
};

// Which figure is compared with which baseline.
constexpr Ratio kSummary[] = {
    {"BLAKE2b-256", "BM_Blake2b256_1MiB", "BM_Memcpy1MiB", "MB/s", 1e6, "memcpy"},
    {"Ed25519 sign", "BM_Ed25519Sign", "BM_Blake2b256_64B", "/s", 1, "64-byte BLAKE2b"},
    {"Ed25519 verify", "BM_Ed25519Verify", "BM_Blake2b256_64B", "/s", 1, "64-byte BLAKE2b"},
    {"Merkle proof verify, 1 Ki leaves", "BM_MerkleProofVerify/1024", "BM_Blake2b256_64B", "/s", 1,
     "64-byte BLAKE2b"},
    {"Merkle proof verify, 1 Mi leaves", "BM_MerkleProofVerify/1048576", "BM_Blake2b256_64B", "/s",
     1, "64-byte BLAKE2b"},
    {"WAL group commit, 100 B", "BM_WalGroupCommit/100/real_time",
     "BM_WriteFdatasyncPerEntry/100/real_time", "appends/s", 1, "write+fdatasync per entry"},
    {"WAL group commit, 1 KiB", "BM_WalGroupCommit/1024/real_time",
     "BM_WriteFdatasyncPerEntry/1024/real_time", "appends/s", 1, "write+fdatasync per entry"},
    {"WAL group commit, 1 KiB", "BM_WalGroupCommit/1024/real_time",
     "BM_WriteFdatasyncPerEntry/1024/real_time", "MB/s", 1e6, "write+fdatasync per entry"},
    {"WAL sync per entry, 100 B", "BM_WalSyncEach/100/real_time",
     "BM_WriteFdatasyncPerEntry/100/real_time", "appends/s", 1, "write+fdatasync per entry"},
    {"Refusal, another id's name (exists)", "BM_RefuseRequestInAnotherIdsName/1/real_time",
     "BM_RefuseRequestInAnotherIdsName/0/real_time", "us", 1, "the same for an unknown id"},
    {"WAL recovery, 1M entries of 100 B", "BM_WalRecovery1M/iterations:3/real_time",
     "BM_ReadLogFiles1M/iterations:3/real_time", "s", 1, "the time to read the same files"},
};

class SummaryReporter : public benchmark::ConsoleReporter {
 public:
  using ConsoleReporter::ConsoleReporter;

  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const Run& run : runs) {
      const std::string name = run.benchmark_name();
      for (const char* counter : {"items_per_second", "bytes_per_second"}) {
        const auto it = run.counters.find(counter);
        if (it != run.counters.end()) {
          rates_[name + (counter[0] == 'b' ? "#bytes" : "")] = it->second.value;
        }
      }
      if (run.iterations > 0 && run.real_accumulated_time > 0) {
        rates_[name + "#iter"] = static_cast<double>(run.iterations) / run.real_accumulated_time;
      }
    }
  }

  void Finalize() override {
    ConsoleReporter::Finalize();
    std::printf("\nSummary (each figure next to a baseline measured in this run):\n");
    for (const Ratio& r : kSummary) {
      const bool bytes = std::string(r.unit) == "MB/s";
      const double m = rate(r.measured, bytes);
      const double b = rate(r.baseline, bytes);
      if (m == 0 || b == 0) continue;  // filtered out of this run
      if (std::string(r.unit) == "s" || std::string(r.unit) == "us") {
        const double scale = std::string(r.unit) == "us" ? 1e6 : 1;
        std::printf("  %-36s %12.3f %-9s = %8.3f x %s\n", r.label, scale / m, r.unit, b / m,
                    r.baseline_label);
        continue;
      }
      std::printf("  %-36s %12.1f %-9s = %8.3f x %s\n", r.label, m / r.scale, r.unit, m / b,
                  r.baseline_label);
    }
  }

 private:
  // bytes/s if asked, else items/s, else iterations/s; 0 if not run.
  double rate(const std::string& name, bool bytes) {
    for (const std::string& key : {bytes ? name + "#bytes" : name, name + "#iter"}) {
      if (const auto it = rates_.find(key); it != rates_.end()) return it->second;
    }
    return 0;
  }

  std::map<std::string, double> rates_;
};

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  SummaryReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  return 0;
}
