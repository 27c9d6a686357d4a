#include "node/admission.h"

#include "core/assert.h"

namespace phalanx::node {

const char* Admission::begin_handshake(const asio::ip::address& from) {
  if (handshakes_ >= limits_.handshakes_max) return "handshakes";
  std::uint64_t& mine = handshakes_from_[from];
  if (mine >= limits_.handshakes_per_address_max) return "handshakes_per_address";
  ++mine;
  ++handshakes_;
  return nullptr;
}

void Admission::end_handshake(const asio::ip::address& from) {
  const auto it = handshakes_from_.find(from);
  PHALANX_ASSERT(it != handshakes_from_.end() && it->second > 0 && handshakes_ > 0);
  --handshakes_;
  if (--it->second == 0) handshakes_from_.erase(it);
}

const char* Admission::begin_connection(const Principal& who) {
  const bool client = who.kind != PrincipalKind::kReplica;
  if (client && clients_ >= limits_.connections_max) return "connections";
  std::uint64_t& mine = connections_[who];
  if (mine >= limits_.connections_per_principal_max) return "connections_per_principal";
  ++mine;
  clients_ += client ? 1 : 0;
  return nullptr;
}

void Admission::end_connection(const Principal& who) {
  const auto it = connections_.find(who);
  PHALANX_ASSERT(it != connections_.end() && it->second > 0);
  if (who.kind != PrincipalKind::kReplica) --clients_;
  if (--it->second == 0) connections_.erase(it);
}

}  // namespace phalanx::node
