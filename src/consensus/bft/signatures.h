// Every signature a message carries, checked in one call, so a worker thread
// can do the Ed25519 work before the core needs the answers
// (node/verify_pool.h). With a shared crypto::VerifyMemo the core's own
// checks then become lookups. Pure apart from the checks themselves.
//
//   const std::size_t bad = bft::check_signatures(envelope.body, validators);
//
// Advisory only: the core checks each signature again where it matters, and
// a message is judged there, never here.
#pragma once

#include <cstddef>

#include "consensus/bft/core.h"

namespace phalanx::bft {

// Checks what the core will: a block's own signature, its QC, TC, client
// requests and accusations; a vote's; a timeout's, its high QC and last TC;
// a checkpoint's. Sync messages carry none (synced blocks are checked by
// hash against a certificate). Returns how many checks failed.
[[nodiscard]] std::size_t check_signatures(const Payload& body, const Validators& validators);

}  // namespace phalanx::bft
