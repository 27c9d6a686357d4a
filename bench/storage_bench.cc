// Storage on the real disk (./dev bench): WAL group commit and per-entry
// sync against a plain "pwrite + fdatasync per entry" loop, and recovery of
// a 1,000,000-entry log against just reading its files.
//
// Files go to $PHALANX_BENCH_DIR, default ./build/bench-data (a real disk,
// not tmpfs), and are removed afterwards.
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <thread>

#include "node/parallel.h"
#include "storage/posix_file_system.h"
#include "storage/wal.h"

namespace phalanx {
namespace {

constexpr int kBatch = 64;  // appends per group commit

std::string bench_dir(const std::string& name) {
  const char* root = std::getenv("PHALANX_BENCH_DIR");
  const std::filesystem::path dir = std::filesystem::path(root ? root : "build/bench-data") / name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir.string();
}

void BM_WriteFdatasyncPerEntry(benchmark::State& state) {
  const std::string dir = bench_dir("baseline");
  const int fd = ::open((dir + "/data").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) state.SkipWithError("cannot open bench file");
  const Bytes entry(static_cast<std::size_t>(state.range(0)), 0x5a);
  off_t offset = 0;
  for (auto _ : state) {
    if (::pwrite(fd, entry.data(), entry.size(), offset) != static_cast<ssize_t>(entry.size()) ||
        ::fdatasync(fd) != 0) {
      state.SkipWithError("write failed");
      break;
    }
    offset += static_cast<off_t>(entry.size());
  }
  ::close(fd);
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * state.range(0));
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_WriteFdatasyncPerEntry)->Arg(100)->Arg(1024)->Arg(4096)->UseRealTime();

void wal_appends(benchmark::State& state, int per_sync) {
  storage::PosixFileSystem fs;
  const std::string dir = bench_dir("wal");
  auto wal = std::move(*storage::Wal::open(fs, dir, {}));
  const Bytes entry(static_cast<std::size_t>(state.range(0)), 0x5a);
  for (auto _ : state) {
    for (int i = 0; i < per_sync; ++i) {
      if (!wal->append(1, entry)) state.SkipWithError("append failed");
    }
    if (!wal->sync()) {
      state.SkipWithError("sync failed");
      break;
    }
  }
  state.SetItemsProcessed(state.iterations() * per_sync);
  state.SetBytesProcessed(state.iterations() * per_sync * state.range(0));
  wal.reset();
  std::filesystem::remove_all(dir);
}

void BM_WalGroupCommit(benchmark::State& state) { wal_appends(state, kBatch); }
BENCHMARK(BM_WalGroupCommit)->Arg(100)->Arg(1024)->UseRealTime();

void BM_WalSyncEach(benchmark::State& state) { wal_appends(state, 1); }
BENCHMARK(BM_WalSyncEach)->Arg(100)->UseRealTime();

// A 1,000,000-entry log of 100-byte entries, written once per run.
const std::string& million_entry_log() {
  static const std::string dir = [] {
    storage::PosixFileSystem fs;
    const std::string d = bench_dir("recovery");
    auto wal = std::move(*storage::Wal::open(fs, d, {}));
    const Bytes entry(100, 0x5a);
    for (int i = 1; i <= 1'000'000; ++i) {
      (void)wal->append(1, entry);
      if (i % 10'000 == 0) (void)wal->sync();
    }
    return d;
  }();
  return dir;
}

void BM_ReadLogFiles1M(benchmark::State& state) {
  const std::string& dir = million_entry_log();
  storage::PosixFileSystem fs;
  for (auto _ : state) {
    std::uint64_t total = 0;
    for (const std::string& name : *fs.list(dir)) {
      total += storage::read_whole_file(fs, dir + "/" + name, std::size_t{1} << 31)->size();
    }
    benchmark::DoNotOptimize(total);
  }
}
BENCHMARK(BM_ReadLogFiles1M)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(3);

void BM_WalRecovery1M(benchmark::State& state) {
  const std::string& dir = million_entry_log();
  storage::PosixFileSystem fs;
  storage::WalOptions options;  // as a node opens it: the hash chain checked on every core
  options.parallel = node::thread_parallel_for(std::thread::hardware_concurrency());
  for (auto _ : state) {
    auto wal = storage::Wal::open(fs, dir, options);
    if (!wal || (*wal)->last_index() != LogIndex{1'000'000}) {
      state.SkipWithError("recovery did not find 1,000,000 entries");
      break;
    }
  }
  state.counters["entries"] = 1'000'000;
}
BENCHMARK(BM_WalRecovery1M)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(3);

}  // namespace
}  // namespace phalanx
