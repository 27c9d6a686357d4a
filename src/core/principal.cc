#include "core/principal.h"

namespace phalanx {

std::string Principal::to_string() const {
  return std::string(principal_kind_name(kind)) + "(" + std::to_string(id) + ")";
}

std::string_view principal_kind_name(PrincipalKind kind) {
  switch (kind) {
    case PrincipalKind::kReplica: return "replica";
    case PrincipalKind::kClient: return "client";
  }
  return "unknown-principal-kind";
}

std::string_view role_name(Role role) {
  switch (role) {
    case Role::kReplica: return "replica";
    case Role::kLearner: return "learner";
    case Role::kClient: return "client";
    case Role::kEvidenceSource: return "evidence-source";
    case Role::kAdmin: return "admin";
  }
  return "unknown-role";
}

std::string_view action_name(Action action) {
  switch (action) {
    case Action::kPropose: return "propose";
    case Action::kVote: return "vote";
    case Action::kTimeout: return "timeout";
    case Action::kReplicate: return "replicate";
    case Action::kSubmitRequest: return "submit-request";
    case Action::kRead: return "read";
    case Action::kSubmitEvidence: return "submit-evidence";
    case Action::kReconfigure: return "reconfigure";
    case Action::kCheckpoint: return "checkpoint";
  }
  return "unknown-action";
}

}  // namespace phalanx
