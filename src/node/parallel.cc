#include "node/parallel.h"

#include <algorithm>
#include <atomic>
#include <thread>
#include <vector>

namespace phalanx::node {

storage::ParallelFor thread_parallel_for(unsigned threads) {
  return [threads](std::size_t parts, const std::function<void(std::size_t)>& body) {
    if (parts == 0) return;
    std::atomic<std::size_t> next{0};
    const auto work = [&] {
      for (std::size_t part = next++; part < parts; part = next++) body(part);
    };
    const std::size_t helpers = std::min<std::size_t>(std::max(threads, 1u), parts) - 1;
    std::vector<std::jthread> pool;
    pool.reserve(helpers);
    for (std::size_t i = 0; i < helpers; ++i) pool.emplace_back(work);
    work();
  };
}

}  // namespace phalanx::node
