// Linearizability of a key-value history (Wing & Gong's search with Lowe's
// memoisation, as in Porcupine).
//
// Each operation has an invocation time, a response time (none if it never
// returned: it may take effect at any point after its invocation, or not at
// all), the command and the reply. The history is split by key (every KV
// command but a range touches one key, and linearizability is
// compositional; ranges are left out, and the simulated clients send none), and each
// key's sub-history is searched for an order that respects real time and
// the sequential semantics of a register with put/get/delete/compare-and-set.
//
//   std::vector<KvOperation> history = ...;
//   LinearizabilityResult r = check_kv_linearizable(history);
//   if (!r.ok) report(r.explanation);
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "apps/kv/kv.h"

namespace phalanx::sim {

struct KvOperation {
  std::uint64_t invoked_at = 0;
  std::optional<std::uint64_t> returned_at;  // nullopt: pending (timed out, never answered)
  kv::KvCommand command;
  std::optional<kv::KvReply> reply;  // set iff returned_at is
};

struct LinearizabilityResult {
  bool ok = true;
  std::uint64_t operations = 0;
  std::uint64_t keys = 0;
  std::string explanation;  // when !ok: the key and its operations
};

[[nodiscard]] LinearizabilityResult check_kv_linearizable(const std::vector<KvOperation>& history);

}  // namespace phalanx::sim
