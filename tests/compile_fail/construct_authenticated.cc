// Authenticated can only be made by security::verify(), never directly.
// EXPECT-ERROR: Authenticated<T>::Authenticated\([^)]*\) \[with T = phalanx::consensus::ClientRequest\]' is private within this context
#include "consensus/common/client_request.h"
#include "core/trust.h"

int main() {
  using phalanx::consensus::ClientRequest;
#ifdef PHALANX_COMPILE_FAIL
  phalanx::Authenticated<ClientRequest> forged(
      ClientRequest{}, phalanx::Principal::client(phalanx::ClientId{1}), phalanx::Role::kClient);
  return static_cast<int>(forged.value().sequence);
#else
  phalanx::Untrusted<ClientRequest> fine{ClientRequest{}};
  return static_cast<int>(fine.unverified().sequence);
#endif
}
