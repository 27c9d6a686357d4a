// Who can act in a cluster, and what they may do.
//
// A Principal is an identity the trust registry knows a public key for.
// Replicas and clients have separate id spaces (node 1 and client 1 are
// different principals). A Role is what the registry says a principal is;
// an Action is what a message asks to do. The policy (security/policy.h)
// maps roles to the actions they are allowed.
#pragma once

#include <compare>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/ids.h"

namespace phalanx {

enum class PrincipalKind : std::uint8_t { kReplica = 0, kClient = 1 };
inline constexpr std::uint8_t kPrincipalKindMax = 1;

struct Principal {
  PrincipalKind kind = PrincipalKind::kReplica;
  std::uint64_t id = 0;

  static constexpr Principal replica(NodeId node) {
    return {PrincipalKind::kReplica, node.value()};
  }
  static constexpr Principal client(ClientId client) {
    return {PrincipalKind::kClient, client.value()};
  }

  auto operator<=>(const Principal&) const = default;
  [[nodiscard]] std::string to_string() const;
};

enum class Role : std::uint8_t {
  kReplica = 0,         // votes, proposes, replicates
  kLearner = 1,         // receives the log, never votes
  kClient = 2,          // submits requests, reads
  kEvidenceSource = 3,  // submits evidence to the evidence app
  kAdmin = 4,           // membership and configuration changes
};
inline constexpr std::uint8_t kRoleMax = 4;

enum class Action : std::uint8_t {
  kPropose = 0,
  kVote = 1,
  kTimeout = 2,
  kReplicate = 3,  // Raft AppendEntries / InstallSnapshot from a leader
  kSubmitRequest = 4,
  kRead = 5,
  kSubmitEvidence = 6,
  kReconfigure = 7,
  kCheckpoint = 8,
};
inline constexpr std::uint8_t kActionMax = 8;

[[nodiscard]] std::string_view role_name(Role role);
[[nodiscard]] std::string_view action_name(Action action);
[[nodiscard]] std::string_view principal_kind_name(PrincipalKind kind);

}  // namespace phalanx
