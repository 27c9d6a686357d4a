// Who may hold what on a replica's listening port (docs/operations.md,
// "Limits"): TLS handshakes in flight, in all and per remote address, and
// authenticated connections, clients in all and anyone per principal.
//
// An unauthenticated socket can only ever hold a handshake slot, and the
// slots are apart from the clients' budget, so idle sockets cannot lock
// clients out; replicas (the configured peers) count against no client
// budget. Pure bookkeeping: the node asks before it spends a slot and says
// when it is done with it. A refusal names the limit, the metrics label.
//
//   if (const char* limit = admission.begin_handshake(from)) refuse(limit);
//   ... handshake ...
//   admission.end_handshake(from);
//   if (const char* limit = admission.begin_connection(who)) refuse(limit);
//   ... serve ...
//   admission.end_connection(who);
#pragma once

#include <asio/ip/address.hpp>
#include <cstdint>
#include <map>

#include "cluster/node_config.h"
#include "core/principal.h"

namespace phalanx::node {

class Admission {
 public:
  explicit Admission(const cluster::NodeLimits& limits) : limits_(limits) {}

  // nullptr, and a handshake slot is taken; or the limit that refuses it:
  // "handshakes" or "handshakes_per_address".
  [[nodiscard]] const char* begin_handshake(const asio::ip::address& from);
  // REQUIRES: a slot begin_handshake gave `from`.
  void end_handshake(const asio::ip::address& from);

  // nullptr, and the connection counts; or the limit that refuses it:
  // "connections" (clients only) or "connections_per_principal".
  [[nodiscard]] const char* begin_connection(const Principal& who);
  // REQUIRES: a connection begin_connection admitted.
  void end_connection(const Principal& who);

  [[nodiscard]] std::uint64_t handshakes() const { return handshakes_; }
  [[nodiscard]] std::uint64_t clients() const { return clients_; }

 private:
  cluster::NodeLimits limits_;
  std::uint64_t handshakes_ = 0;
  std::map<asio::ip::address, std::uint64_t> handshakes_from_;
  std::uint64_t clients_ = 0;
  std::map<Principal, std::uint64_t> connections_;
};

}  // namespace phalanx::node
