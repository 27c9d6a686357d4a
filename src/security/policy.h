// Authorization policy: which roles may perform which actions. Pure.
//
//   Policy p = Policy::standard();
//   p.permits(Role::kClient, Action::kVote);   // false
#pragma once

#include <array>
#include <cstdint>

#include "core/principal.h"

namespace phalanx::security {

class Policy {
 public:
  // Nothing is allowed.
  Policy() = default;

  // replica:         propose, vote, timeout, replicate, checkpoint
  // learner:         nothing (it only receives)
  // client:          submit-request, read
  // evidence-source: submit-evidence, read
  // admin:           reconfigure, submit-request, read
  [[nodiscard]] static Policy standard();

  Policy& allow(Role role, Action action);
  [[nodiscard]] bool permits(Role role, Action action) const;

 private:
  static_assert(kActionMax < 32);
  std::array<std::uint32_t, kRoleMax + 1> allowed_{};
};

}  // namespace phalanx::security
