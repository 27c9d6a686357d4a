// libsodium initialisation.
//
// ASSUMPTION: libsodium correctly implements Ed25519 and BLAKE2b.
// Every crypto entry point calls ensure_sodium() first; it is idempotent and
// thread-safe. A failed sodium_init() (no entropy source) stops the process:
// nothing safe can be done without it.
#pragma once

namespace phalanx::crypto {

void ensure_sodium();

}  // namespace phalanx::crypto
