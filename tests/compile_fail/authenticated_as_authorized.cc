// A message whose signature verified but whose permission was never checked
// cannot be handed to code that requires Authorized.
// EXPECT-ERROR: Authorized<phalanx::consensus::ClientRequest>
// EXPECT-ERROR: Authenticated<phalanx::consensus::ClientRequest>
#include "consensus/common/client_request.h"
#include "security/verify.h"

namespace {
using phalanx::Authorized;
using phalanx::Untrusted;
using phalanx::consensus::ClientRequest;

int core_step(const Authorized<ClientRequest>& request) {
  return static_cast<int>(request.value().sequence);
}
}  // namespace

int main() {
  phalanx::security::TrustRegistry registry;
  auto authenticated =
      phalanx::security::verify(registry, Untrusted<ClientRequest>{ClientRequest{}});
  if (!authenticated) return 1;
#ifdef PHALANX_COMPILE_FAIL
  return core_step(*authenticated);
#else
  auto authorized =
      phalanx::security::authorize(phalanx::security::Policy::standard(), *authenticated);
  return authorized ? core_step(*authorized) : 2;
#endif
}
