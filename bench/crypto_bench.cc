// The machine's cryptographic ceilings (./dev bench). Ratios against the
// baselines measured in the same run are printed by bench/main.cc.
#include <benchmark/benchmark.h>

#include <cstring>
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
// Every core verifying at once: the byzantine mode's ceiling (bench/compare).
BENCHMARK(BM_Ed25519Verify)->ThreadPerCpu()->UseRealTime();

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

}  // namespace
}  // namespace phalanx
