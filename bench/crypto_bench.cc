// The machine's cryptographic ceilings (./dev bench).
//
// Each figure is also printed as a ratio against a baseline measured in the
// same run (memcpy for hashing throughput, one BLAKE2b of 64 bytes for the
// per-operation figures), because absolute numbers on a shared machine are
// noise; ratios are not.
#include <benchmark/benchmark.h>

#include <cstring>
#include <map>
#include <string>

#include "crypto/hash.h"
#include "crypto/keys.h"
#include "crypto/merkle.h"

namespace phalanx {
namespace {

constexpr std::size_t kHashBytes = 1 << 20;
constexpr std::size_t kMessageBytes = 256;  // a typical client request

void BM_Memcpy1MiB(benchmark::State& state) {
  Bytes src(kHashBytes, 0xab), dst(kHashBytes);
  for (auto _ : state) {
    std::memcpy(dst.data(), src.data(), src.size());
    benchmark::DoNotOptimize(dst.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * kHashBytes));
}
BENCHMARK(BM_Memcpy1MiB);

void BM_Blake2b256_1MiB(benchmark::State& state) {
  const Bytes data(kHashBytes, 0xab);
  for (auto _ : state) benchmark::DoNotOptimize(crypto::blake2b256(data));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * kHashBytes));
}
BENCHMARK(BM_Blake2b256_1MiB);

void BM_Blake2b256_64B(benchmark::State& state) {
  const Bytes data(64, 0xab);
  for (auto _ : state) benchmark::DoNotOptimize(crypto::blake2b256(data));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Blake2b256_64B);

void BM_Ed25519Sign(benchmark::State& state) {
  const crypto::KeyPair kp = crypto::KeyPair::generate();
  const Bytes msg(kMessageBytes, 0x42);
  for (auto _ : state) benchmark::DoNotOptimize(kp.sign(SignDomain::kClientRequest, msg));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Ed25519Sign);

void BM_Ed25519Verify(benchmark::State& state) {
  const crypto::KeyPair kp = crypto::KeyPair::generate();
  const Bytes msg(kMessageBytes, 0x42);
  const crypto::Signature sig = kp.sign(SignDomain::kClientRequest, msg);
  for (auto _ : state) {
    const bool ok = crypto::verify(kp.public_key(), SignDomain::kClientRequest, msg, sig);
    if (!ok) state.SkipWithError("signature did not verify");
    benchmark::DoNotOptimize(ok);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Ed25519Verify);

void BM_MerkleProofVerify(benchmark::State& state) {
  const std::size_t leaves_count = static_cast<std::size_t>(state.range(0));
  std::vector<Bytes> leaves;
  for (std::size_t i = 0; i < leaves_count; ++i)
    leaves.push_back(to_bytes("key-" + std::to_string(i)));
  const crypto::MerkleTree tree(leaves);
  const std::size_t index = leaves_count / 3;
  const crypto::InclusionProof proof = tree.prove(index);
  for (auto _ : state) {
    const bool ok = crypto::verify_inclusion(tree.root(), leaves[index], proof);
    if (!ok) state.SkipWithError("proof did not verify");
    benchmark::DoNotOptimize(ok);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_MerkleProofVerify)->Arg(1 << 10)->Arg(1 << 20);

// Collects rates so a summary with ratios can follow the normal table.
class SummaryReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const Run& run : runs) {
      const auto items = run.counters.find("items_per_second");
      const auto bytes = run.counters.find("bytes_per_second");
      if (items != run.counters.end()) rates_[run.benchmark_name()] = items->second.value;
      if (bytes != run.counters.end()) rates_[run.benchmark_name()] = bytes->second.value;
    }
  }

  void Finalize() override {
    ConsoleReporter::Finalize();
    auto rate = [&](const std::string& name) { return rates_.count(name) ? rates_[name] : 0.0; };
    const double memcpy_bps = rate("BM_Memcpy1MiB");
    const double blake_bps = rate("BM_Blake2b256_1MiB");
    const double hash64 = rate("BM_Blake2b256_64B");
    std::printf("\nCeilings on this machine (baselines measured in this run):\n");
    std::printf("  BLAKE2b-256          %10.1f MB/s   (%.3f x memcpy)\n", blake_bps / 1e6,
                memcpy_bps > 0 ? blake_bps / memcpy_bps : 0.0);
    for (const char* name : {"BM_Ed25519Sign", "BM_Ed25519Verify", "BM_MerkleProofVerify/1024",
                             "BM_MerkleProofVerify/1048576"}) {
      const double r = rate(name);
      std::printf("  %-28s %10.0f /s   (%.4f x one 64-byte BLAKE2b)\n", name + 3, r,
                  hash64 > 0 ? r / hash64 : 0.0);
    }
  }

 private:
  std::map<std::string, double> rates_;
};

}  // namespace
}  // namespace phalanx

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  phalanx::SummaryReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  return 0;
}
