#include "node/client_admission.h"

#include "security/verify.h"

namespace phalanx::node {

Result<Authorized<consensus::ClientRequest>> admit_client_request(const AdmissionRules& rules,
                                                                  const Principal& caller,
                                                                  ByteView request) {
  PHALANX_ASSIGN_OR_RETURN(Untrusted<consensus::ClientRequest> u,
                           security::decode_untrusted<consensus::ClientRequest>(request));
  // The name first, before any signature is checked: a request in another's
  // name takes as long to refuse whether that id exists or not
  // (BM_RefuseRequestInAnotherIdsName).
  const consensus::ClientRequest& claimed = u.unverified();
  if (claimed.author() != caller || claimed.cluster != rules.cluster) {
    return fail(AuthenticationFailed{AuthFailure::kCredentialMismatch, claimed.author()});
  }
  Result<Authenticated<consensus::ClientRequest>> proven =
      rules.proof == RequestProof::kChannel
          ? security::verify_channel(rules.registry, caller, std::move(u))
          : security::verify(rules.registry, std::move(u));
  if (!proven) return Unexpected(std::move(proven).error());
  const consensus::ClientRequest& req = proven->value();
  const Action wanted = rules.app.action(req.operation);
  const bool in_session = rules.app.issued_by(req.operation, req.client, req.sequence);
  PHALANX_ASSIGN_OR_RETURN(Authorized<consensus::ClientRequest> authorized,
                           security::authorize(rules.policy, std::move(*proven), wanted));
  if (!in_session) {
    return fail(ErrorCode::kInvalidArgument,
                "the command does not name the request's session (client, sequence)");
  }
  return authorized;
}

}  // namespace phalanx::node
