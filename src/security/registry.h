// The trust registry: who exists, their public key, their role.
//
// Built from the cluster manifest. Every signature is checked against the
// key registered for the principal the message claims as its author; a
// principal not in the registry can do nothing.
//
// Invariants (checked by add()):
//   - a principal appears at most once;
//   - a public key belongs to at most one principal (a shared key would let
//     one principal's signatures pass as another's);
//   - replicas have role replica or learner; clients have role client,
//     evidence-source or admin.
#pragma once

#include <map>
#include <vector>

#include "core/error.h"
#include "core/principal.h"
#include "crypto/keys.h"

namespace phalanx::security {

struct RegistryEntry {
  Principal principal;
  crypto::PublicKey public_key;
  Role role = Role::kClient;
};

class TrustRegistry {
 public:
  // kInvalidArgument if the entry breaks an invariant above.
  [[nodiscard]] Status add(const RegistryEntry& entry);

  // nullptr if unknown.
  [[nodiscard]] const RegistryEntry* find(const Principal& principal) const;

  [[nodiscard]] std::size_t size() const { return entries_.size(); }
  [[nodiscard]] std::vector<RegistryEntry> entries() const;

 private:
  std::map<Principal, RegistryEntry> entries_;
};

}  // namespace phalanx::security
