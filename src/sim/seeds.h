// Seeds for simulation tests.
//
//   PHALANX_SIM_SEED=1234   run exactly that seed (to reproduce a failure)
//   PHALANX_SIM_SEEDS=20000 run that many seeds (./dev soak sets this)
//
// A failing simulation prints "seed=N"; rerun it with PHALANX_SIM_SEED=N.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

namespace phalanx::sim {

inline std::vector<std::uint64_t> sim_seeds(std::uint64_t default_count) {
  if (const char* one = std::getenv("PHALANX_SIM_SEED")) return {std::stoull(one)};
  std::uint64_t count = default_count;
  if (const char* n = std::getenv("PHALANX_SIM_SEEDS")) count = std::stoull(n);
  std::vector<std::uint64_t> seeds;
  for (std::uint64_t s = 1; s <= count; ++s) seeds.push_back(s);
  return seeds;
}

}  // namespace phalanx::sim
