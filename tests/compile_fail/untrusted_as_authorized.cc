// An Untrusted message cannot be handed to code that requires Authorized.
// EXPECT-ERROR: Authorized<phalanx::consensus::ClientRequest>
// EXPECT-ERROR: Untrusted<phalanx::consensus::ClientRequest>
#include "consensus/common/client_request.h"
#include "core/trust.h"

namespace {
using phalanx::Authorized;
using phalanx::Untrusted;
using phalanx::consensus::ClientRequest;

[[maybe_unused]] int core_step(const Authorized<ClientRequest>& request) {
  return static_cast<int>(request.value().sequence);
}
}  // namespace

int main() {
  Untrusted<ClientRequest> untrusted{ClientRequest{}};
#ifdef PHALANX_COMPILE_FAIL
  return core_step(untrusted);
#else
  return static_cast<int>(untrusted.unverified().sequence);
#endif
}
