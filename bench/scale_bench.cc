// Recovery and scale figures (./dev bench, docs/performance.md):
//   - a crash-mode replica restarting on a 1,000,000-entry log until it serves;
//   - a follower installing a 1 GiB snapshot;
//   - memory per million keys in the KV store.
//
// Files go to $PHALANX_BENCH_DIR (default ./build/bench-data), as in
// storage_bench.cc, and are removed afterwards.
#include <benchmark/benchmark.h>
#include <malloc.h>

#include <cstdlib>
#include <filesystem>
#include <thread>

#include "apps/kv/kv_machine.h"
#include "crypto/keys.h"
#include "node/parallel.h"
#include "node/raft_replica.h"
#include "storage/hard_state.h"
#include "storage/posix_file_system.h"
#include "storage/snapshot.h"
#include "storage/wal.h"

namespace phalanx {
namespace {

constexpr std::uint64_t kEntries = 1'000'000;

std::string fresh_dir(const std::string& name) {
  const char* root = std::getenv("PHALANX_BENCH_DIR");
  const std::filesystem::path dir = std::filesystem::path(root ? root : "build/bench-data") / name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir.string();
}

Bytes put_command(std::uint64_t sequence) {
  char key[32];
  std::snprintf(key, sizeof key, "key-%012llu", static_cast<unsigned long long>(sequence));
  return codec::encode(
      kv::KvCommand{ClientId{1}, sequence, kv::KvOp::kPut, key, Bytes(64, 0x5a), std::nullopt});
}

// The data directory of a one-voter replica whose log holds kEntries
// committed KV puts (term 1), written through the WAL as the replica writes it.
const std::string& million_entry_replica() {
  static const std::string dir = [] {
    storage::PosixFileSystem fs;
    const std::string d = fresh_dir("restart");
    auto wal = std::move(*storage::Wal::open(fs, d + "/wal", {}));
    for (std::uint64_t i = 1; i <= kEntries; ++i) {
      Bytes payload{static_cast<std::uint8_t>(raft::EntryKind::kCommand)};
      const Bytes command = put_command(i);
      payload.insert(payload.end(), command.begin(), command.end());
      (void)wal->append(1, payload);
      if (i % 10'000 == 0) (void)wal->sync();
    }
    (void)wal->sync();
    (void)storage::save_hard_state(fs, d + "/raft_state",
                                   storage::RaftHardState{Term{1}, NodeId{1}, LogIndex{kEntries}});
    return d;
  }();
  return dir;
}

// Open (read the log), win the one-voter election, and apply every entry to
// the KV store: the replica then answers reads. Snapshots are off, so the
// whole log is replayed (a replica with the default snapshot_every keeps at
// most about 11,000 entries).
void BM_RaftRestartTo1MEntriesServing(benchmark::State& state) {
  const std::string& dir = million_entry_replica();
  security::TrustRegistry registry;
  (void)registry.add({Principal::replica(NodeId{1}),
                      crypto::KeyPair::from_seed(crypto::Seed{}).public_key(), Role::kReplica});
  std::uint64_t ticks = 0;
  for (auto _ : state) {
    storage::PosixFileSystem fs;
    node::RaftReplicaOptions options;
    options.raft.id = NodeId{1};
    options.raft.voters = {NodeId{1}};
    options.data_dir = dir;
    options.snapshot_every = 1ull << 40;
    options.wal.parallel = node::thread_parallel_for(std::thread::hardware_concurrency());
    auto opened = node::RaftReplica::open(fs, registry, std::move(options),
                                          std::make_unique<kv::KvMachine>(), 7);
    if (!opened) {
      state.SkipWithError(opened.error().to_string().c_str());
      break;
    }
    node::RaftReplica& r = **opened;
    ticks = 0;
    while (r.status().applied.value() < kEntries && ticks < 10'000) {
      r.tick();
      ++ticks;
    }
    if (r.status().applied.value() < kEntries) {
      state.SkipWithError("the replica did not apply its log");
      break;
    }
    // Serving is reached; tearing the replica down is not part of a restart.
    state.PauseTiming();
    opened->reset();
    state.ResumeTiming();
  }
  state.counters["entries"] = static_cast<double>(kEntries);
  state.counters["ticks"] = static_cast<double>(ticks);
}
BENCHMARK(BM_RaftRestartTo1MEntriesServing)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->Iterations(3);

// What a follower does with a 1 GiB snapshot streamed to it in 1 MiB chunks
// (the network left out): write each chunk, check the chunks against the
// leader's Merkle root and make the file durable, read it back chunk by
// verified chunk, and restore the KV store from it. The state: 16,384 keys
// with 64 KiB values.
void BM_SnapshotInstall1GiB(benchmark::State& state) {
  constexpr std::size_t kChunk = 1 << 20;
  Bytes snapshot;
  {
    auto kv = std::make_unique<kv::KvMachine>();
    for (std::uint64_t i = 1; i <= 16'384; ++i) {
      char key[32];
      std::snprintf(key, sizeof key, "key-%012llu", static_cast<unsigned long long>(i));
      const Bytes value(kv::kValueBytesMax, static_cast<std::uint8_t>(i));
      (void)kv->apply(LogIndex{i}, codec::encode(kv::KvCommand{ClientId{1}, i, kv::KvOp::kPut, key,
                                                               value, std::nullopt}));
    }
    snapshot = kv->snapshot();
  }
  std::vector<crypto::Hash32> hashes;
  for (std::size_t at = 0; at < snapshot.size(); at += kChunk) {
    hashes.push_back(
        crypto::blake2b256(ByteView(snapshot).subspan(at, std::min(kChunk, snapshot.size() - at))));
  }
  const crypto::Hash32 root = storage::chunk_root(hashes);
  const std::string dir = fresh_dir("snapshot-install");
  storage::PosixFileSystem fs;
  for (auto _ : state) {
    auto writer = storage::SnapshotWriter::create(
        fs, dir, storage::SnapshotMeta{LogIndex{16'384}, 1, {}, {}}, kChunk);
    if (!writer) {
      state.SkipWithError(writer.error().to_string().c_str());
      break;
    }
    for (std::size_t at = 0; at < snapshot.size(); at += kChunk) {
      (void)(*writer)->write_chunk(
          ByteView(snapshot).subspan(at, std::min(kChunk, snapshot.size() - at)));
    }
    Result<storage::SnapshotManifest> installed = (*writer)->finish(root);
    auto reader = storage::SnapshotReader::open(
        fs, dir + "/" + storage::snapshot_file_name(LogIndex{16'384}));
    if (!installed || !reader) {
      state.SkipWithError("the snapshot did not install");
      break;
    }
    Bytes read;
    read.reserve(snapshot.size());
    while (true) {
      Result<std::optional<Bytes>> chunk = (*reader)->next_chunk();
      if (!chunk || !*chunk) break;
      read.insert(read.end(), (*chunk)->begin(), (*chunk)->end());
    }
    kv::KvMachine restored;
    if (read.size() != snapshot.size() || !restored.restore(read)) {
      state.SkipWithError("the installed snapshot did not restore");
      break;
    }
  }
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(snapshot.size()));
  state.counters["state_bytes"] = static_cast<double>(snapshot.size());
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_SnapshotInstall1GiB)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(2);

// Heap bytes in use (glibc): unlike the resident set, this does not depend
// on what earlier benchmarks freed and the allocator kept.
std::uint64_t heap_bytes() {
  const struct mallinfo2 m = ::mallinfo2();
  return m.uordblks + m.hblkhd;
}

// Heap memory the KV state machine takes per key: 1,000,000 puts of
// 16-byte keys and 64-byte values (80 bytes of data), session table included.
void BM_KvMemoryPerMillionKeys(benchmark::State& state) {
  double per_key = 0;
  for (auto _ : state) {
    const std::uint64_t before = heap_bytes();
    auto kv = std::make_unique<kv::KvMachine>();
    for (std::uint64_t i = 1; i <= kEntries; ++i) {
      benchmark::DoNotOptimize(kv->apply(LogIndex{i}, put_command(i)));
    }
    per_key = static_cast<double>(heap_bytes() - before) / static_cast<double>(kEntries);
    benchmark::DoNotOptimize(kv->digest());
  }
  state.counters["bytes_per_key"] = per_key;
  state.counters["data_bytes_per_key"] = 16 + 64;
}
BENCHMARK(BM_KvMemoryPerMillionKeys)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(1);

// What a crash-mode snapshot still costs the replica's thread: serializing
// the KV state of 1,000,000 keys (writing and syncing it runs elsewhere
// with background_sync).
void BM_KvSnapshotSerialize1MKeys(benchmark::State& state) {
  auto kv = std::make_unique<kv::KvMachine>();
  for (std::uint64_t i = 1; i <= kEntries; ++i) (void)kv->apply(LogIndex{i}, put_command(i));
  std::size_t bytes = 0;
  for (auto _ : state) {
    const Bytes snapshot = kv->snapshot();
    bytes = snapshot.size();
    benchmark::DoNotOptimize(snapshot.data());
  }
  state.counters["bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_KvSnapshotSerialize1MKeys)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->Iterations(3);

}  // namespace
}  // namespace phalanx
