// Signature domains.
//
// Every signature in Phalanx is taken over a domain tag followed by the
// message, so a signature made for one kind of message can never verify as
// another (a vote can't be replayed as a proposal or a client request).
// The tag bytes are part of the wire contract: see docs/codec.md. Never
// renumber or rename a domain; add new ones at the end.
#pragma once

#include <cstdint>
#include <string_view>

namespace phalanx {

enum class SignDomain : std::uint8_t {
  kClientRequest = 0,
  kProposal = 1,
  kVote = 2,
  kTimeout = 3,
  kCheckpoint = 4,
  kReply = 5,
  kEvidence = 6,
  kRaftEntry = 7,
  kRaftRpc = 8,
  kConfig = 9,
};
inline constexpr std::uint8_t kSignDomainMax = 9;

// The tag signed in front of the message, e.g. "phalanx/v1/vote".
[[nodiscard]] std::string_view sign_domain_tag(SignDomain domain);

}  // namespace phalanx
