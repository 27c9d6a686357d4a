// An Authenticated value cannot be converted into an Authorized one by
// copy-initialisation or a cast; only authorize() does that.
// EXPECT-ERROR: Authorized<phalanx::consensus::ClientRequest>
// EXPECT-ERROR: Authenticated<phalanx::consensus::ClientRequest>
#include "consensus/common/client_request.h"
#include "security/verify.h"

int main() {
  using phalanx::consensus::ClientRequest;
  phalanx::security::TrustRegistry registry;
  auto a = phalanx::security::verify(registry, phalanx::Untrusted<ClientRequest>{ClientRequest{}});
  if (!a) return 1;
#ifdef PHALANX_COMPILE_FAIL
  auto z = static_cast<phalanx::Authorized<ClientRequest>>(*a);
  return static_cast<int>(z.value().sequence);
#else
  return static_cast<int>(a->value().sequence);
#endif
}
