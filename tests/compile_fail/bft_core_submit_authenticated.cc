// The BFT core's own entry point: a client request whose signature verified
// but whose command the policy never allowed cannot enter the mempool.
// EXPECT-ERROR: Authorized<phalanx::consensus::ClientRequest>
// EXPECT-ERROR: Authenticated<phalanx::consensus::ClientRequest>
#include "consensus/bft/core.h"
#include "security/verify.h"

namespace {
using phalanx::Untrusted;
using phalanx::consensus::ClientRequest;
}  // namespace

void feed(phalanx::bft::Core& core, const phalanx::security::TrustRegistry& registry,
          const ClientRequest& request) {
  auto authenticated = phalanx::security::verify(registry, Untrusted<ClientRequest>{request});
  if (!authenticated) return;
#ifdef PHALANX_COMPILE_FAIL
  core.submit(*authenticated);
#else
  auto authorized =
      phalanx::security::authorize(phalanx::security::Policy::standard(), *authenticated);
  if (authorized) core.submit(*authorized);
#endif
}

int main() { return 0; }
