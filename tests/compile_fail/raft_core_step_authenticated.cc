// The Raft core's own entry point: a message whose sender the channel proved
// but whose action (vote, replicate) the policy never allowed cannot be stepped.
// EXPECT-ERROR: Authorized<phalanx::raft::Message>
// EXPECT-ERROR: Authenticated<phalanx::raft::Message>
#include "consensus/raft/core.h"
#include "consensus/raft/wire.h"
#include "security/verify.h"

void feed(phalanx::raft::Core& core, const phalanx::security::TrustRegistry& registry,
          phalanx::ByteView frame, phalanx::NodeId from) {
  auto decoded = phalanx::raft::decode_message(frame, core.id());
  if (!decoded) return;
  auto proven = phalanx::security::verify_channel(
      registry, phalanx::Principal::replica(from), std::move(*decoded));
  if (!proven) return;
#ifdef PHALANX_COMPILE_FAIL
  core.step(*proven);
#else
  auto authorized = phalanx::security::authorize(phalanx::security::Policy::standard(), *proven);
  if (authorized) core.step(*authorized);
#endif
}

int main() { return 0; }
