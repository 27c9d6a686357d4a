#include "core/domain.h"

#include "core/assert.h"

namespace phalanx {

std::string_view sign_domain_tag(SignDomain domain) {
  switch (domain) {
    case SignDomain::kClientRequest: return "phalanx/v1/client-request";
    case SignDomain::kProposal: return "phalanx/v1/proposal";
    case SignDomain::kVote: return "phalanx/v1/vote";
    case SignDomain::kTimeout: return "phalanx/v1/timeout";
    case SignDomain::kCheckpoint: return "phalanx/v1/checkpoint";
    case SignDomain::kReply: return "phalanx/v1/reply";
    case SignDomain::kEvidence: return "phalanx/v1/evidence";
    case SignDomain::kRaftEntry: return "phalanx/v1/raft-entry";
    case SignDomain::kRaftRpc: return "phalanx/v1/raft-rpc";
    case SignDomain::kConfig: return "phalanx/v1/config";
  }
  PHALANX_ASSERT(false && "unknown SignDomain");
  return {};
}

}  // namespace phalanx
