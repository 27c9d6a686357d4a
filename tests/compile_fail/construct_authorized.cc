// Authorized can only be made by security::authorize(), never directly.
// EXPECT-ERROR: Authorized<T>::Authorized\([^)]*\) \[with T = phalanx::consensus::ClientRequest\]' is private within this context
#include "consensus/common/client_request.h"
#include "core/trust.h"

int main() {
  using phalanx::consensus::ClientRequest;
#ifdef PHALANX_COMPILE_FAIL
  phalanx::Authorized<ClientRequest> forged(
      ClientRequest{}, phalanx::Principal::client(phalanx::ClientId{1}), phalanx::Role::kAdmin);
  return static_cast<int>(forged.value().sequence);
#else
  phalanx::Untrusted<ClientRequest> fine{ClientRequest{}};
  return static_cast<int>(fine.unverified().sequence);
#endif
}
