// The one door a client request passes in both modes, before it is ordered:
//
//   Result<Authorized<consensus::ClientRequest>> r = admit_client_request(rules, caller, bytes);
//
// In order, each failure a typed error the replica counts:
//   bytes that do not decode            -> MalformedInput
//   a request in another's name than the caller's, or for another cluster,
//     refused before any signature is checked, so the time to the answer
//     does not tell whether that id exists
//                                       -> AuthenticationFailed{kCredentialMismatch}
//   proof of authorship:
//     crash mode (kChannel): the mutually authenticated channel proved
//       `caller`, which must be registered    -> AuthenticationFailed
//     byzantine mode (kSignature): the request's own signature, since
//       replicas relay and order it and must not be able to forge one
//                                       -> AuthenticationFailed, SignatureInvalid
//   the caller's role may not do what the command asks (a write, a read,
//     evidence: the application says which)   -> AuthorizationDenied
//   a command that does not name the request's session (client, sequence)
//                                       -> kInvalidArgument
// Pure: no I/O.
#pragma once

#include "consensus/common/client_request.h"
#include "consensus/common/state_machine.h"
#include "core/trust.h"
#include "security/policy.h"
#include "security/registry.h"

namespace phalanx::node {

enum class RequestProof : std::uint8_t { kChannel, kSignature };

struct AdmissionRules {
  const security::TrustRegistry& registry;
  const security::Policy& policy;
  const consensus::StateMachine& app;
  ClusterId cluster;
  RequestProof proof;
};

[[nodiscard]] Result<Authorized<consensus::ClientRequest>> admit_client_request(
    const AdmissionRules& rules, const Principal& caller, ByteView request);

}  // namespace phalanx::node
