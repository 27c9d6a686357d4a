#include "security/policy.h"

namespace phalanx::security {

Policy Policy::standard() {
  Policy p;
  for (Action a : {Action::kPropose, Action::kVote, Action::kTimeout, Action::kReplicate,
                   Action::kCheckpoint}) {
    p.allow(Role::kReplica, a);
  }
  p.allow(Role::kClient, Action::kSubmitRequest).allow(Role::kClient, Action::kRead);
  p.allow(Role::kEvidenceSource, Action::kSubmitEvidence)
      .allow(Role::kEvidenceSource, Action::kRead);
  p.allow(Role::kAdmin, Action::kReconfigure)
      .allow(Role::kAdmin, Action::kSubmitRequest)
      .allow(Role::kAdmin, Action::kRead);
  return p;
}

Policy& Policy::allow(Role role, Action action) {
  allowed_[static_cast<std::size_t>(role)] |= 1u << static_cast<unsigned>(action);
  return *this;
}

bool Policy::permits(Role role, Action action) const {
  return (allowed_[static_cast<std::size_t>(role)] >> static_cast<unsigned>(action)) & 1u;
}

}  // namespace phalanx::security
