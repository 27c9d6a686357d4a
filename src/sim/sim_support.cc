#include "sim/sim_support.h"

#include <fmt/format.h>

namespace phalanx::sim {

kv::KvCommand random_kv_command(Random& rng, ClientId client, std::uint64_t sequence) {
  kv::KvCommand cmd{client, sequence, kv::KvOp::kGet, fmt::format("k{}", rng.uniform(5)), {}, {}};
  const std::uint64_t dice = rng.uniform(10);
  if (dice < 4) {
    cmd.op = kv::KvOp::kPut;
    cmd.value = to_bytes(fmt::format("v{}", rng.uniform(1000)));
  } else if (dice < 7) {
    cmd.op = kv::KvOp::kGet;
  } else if (dice < 9) {
    cmd.op = kv::KvOp::kCompareAndSet;
    cmd.value = to_bytes(fmt::format("v{}", rng.uniform(1000)));
    if (rng.coin()) cmd.expected = to_bytes(fmt::format("v{}", rng.uniform(1000)));
  } else {
    cmd.op = kv::KvOp::kDelete;
  }
  return cmd;
}

void TraceLog::add(std::uint64_t now_ms, std::string what) {
  hasher_.update(as_view(what));
  std::uint8_t at[8];
  for (int i = 0; i < 8; ++i) at[i] = static_cast<std::uint8_t>(now_ms >> (8 * i));
  hasher_.update(ByteView(at, 8));
  events_.push_back({now_ms, std::move(what)});
  if (events_.size() > tail_max_) events_.pop_front();
}

std::vector<std::string> TraceLog::tail() const {
  std::vector<std::string> out;
  for (const Event& e : events_) out.push_back(fmt::format("t={}ms {}", e.at, e.what));
  return out;
}

}  // namespace phalanx::sim
