#include "security/registry.h"

namespace phalanx::security {
namespace {

bool role_fits_kind(PrincipalKind kind, Role role) {
  switch (kind) {
    case PrincipalKind::kReplica: return role == Role::kReplica || role == Role::kLearner;
    case PrincipalKind::kClient:
      return role == Role::kClient || role == Role::kEvidenceSource || role == Role::kAdmin;
  }
  return false;
}

}  // namespace

Status TrustRegistry::add(const RegistryEntry& entry) {
  const std::string who = entry.principal.to_string();
  if (!role_fits_kind(entry.principal.kind, entry.role)) {
    return fail(ErrorCode::kInvalidArgument, "trust registry: " + who + " cannot have role " +
                                                 std::string(role_name(entry.role)));
  }
  if (entries_.contains(entry.principal)) {
    return fail(ErrorCode::kInvalidArgument, "trust registry: " + who + " is listed twice");
  }
  for (const auto& [principal, existing] : entries_) {
    if (existing.public_key == entry.public_key) {
      return fail(ErrorCode::kInvalidArgument,
                  "trust registry: " + who + " reuses the public key of " + principal.to_string());
    }
  }
  entries_.emplace(entry.principal, entry);
  return {};
}

const RegistryEntry* TrustRegistry::find(const Principal& principal) const {
  const auto it = entries_.find(principal);
  return it == entries_.end() ? nullptr : &it->second;
}

std::vector<RegistryEntry> TrustRegistry::entries() const {
  std::vector<RegistryEntry> out;
  out.reserve(entries_.size());
  for (const auto& [principal, entry] : entries_) out.push_back(entry);
  return out;
}

}  // namespace phalanx::security
