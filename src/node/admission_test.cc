// Admission: handshake slots in all and per address, client connections in
// all and per principal, replicas apart from the clients' budget.
#include "node/admission.h"

#include <gtest/gtest.h>

#include <string>

namespace phalanx::node {
namespace {

asio::ip::address address(const std::string& text) { return asio::ip::make_address(text); }

cluster::NodeLimits small_limits() {
  cluster::NodeLimits l;
  l.handshakes_max = 5;
  l.handshakes_per_address_max = 2;
  l.connections_max = 2;
  l.connections_per_principal_max = 2;
  return l;
}

std::string refused(const char* limit) { return limit == nullptr ? "admitted" : limit; }

TEST(Admission, OneAddressHoldsNoMoreThanItsHandshakeSlots) {
  Admission a(small_limits());
  const auto attacker = address("10.0.0.9");
  EXPECT_EQ(refused(a.begin_handshake(attacker)), "admitted");
  EXPECT_EQ(refused(a.begin_handshake(attacker)), "admitted");
  EXPECT_EQ(refused(a.begin_handshake(attacker)), "handshakes_per_address");
  // Everyone else still gets a slot, up to the total.
  EXPECT_EQ(refused(a.begin_handshake(address("10.0.0.1"))), "admitted");
  EXPECT_EQ(refused(a.begin_handshake(address("10.0.0.2"))), "admitted");
  EXPECT_EQ(refused(a.begin_handshake(address("10.0.0.3"))), "admitted");
  EXPECT_EQ(refused(a.begin_handshake(address("10.0.0.4"))), "handshakes");
  EXPECT_EQ(a.handshakes(), 5u);
  a.end_handshake(attacker);  // done (or timed out): the slot is free again
  EXPECT_EQ(refused(a.begin_handshake(address("10.0.0.4"))), "admitted");
}

TEST(Admission, ClientsShareOneBudgetReplicasCountAgainstNone) {
  Admission a(small_limits());
  EXPECT_EQ(refused(a.begin_connection(Principal::client(ClientId{1}))), "admitted");
  EXPECT_EQ(refused(a.begin_connection(Principal::client(ClientId{2}))), "admitted");
  EXPECT_EQ(refused(a.begin_connection(Principal::client(ClientId{3}))), "connections");
  // The configured peers are never locked out by clients.
  for (std::uint64_t id = 1; id <= 3; ++id) {
    EXPECT_EQ(refused(a.begin_connection(Principal::replica(NodeId{id}))), "admitted");
  }
  EXPECT_EQ(a.clients(), 2u);
  a.end_connection(Principal::client(ClientId{1}));
  EXPECT_EQ(refused(a.begin_connection(Principal::client(ClientId{3}))), "admitted");
}

TEST(Admission, OnePrincipalHoldsNoMoreThanItsConnections) {
  Admission a(small_limits());
  const Principal replica = Principal::replica(NodeId{2});
  EXPECT_EQ(refused(a.begin_connection(replica)), "admitted");
  EXPECT_EQ(refused(a.begin_connection(replica)), "admitted");
  EXPECT_EQ(refused(a.begin_connection(replica)), "connections_per_principal");
  a.end_connection(replica);
  EXPECT_EQ(refused(a.begin_connection(replica)), "admitted");
}

}  // namespace
}  // namespace phalanx::node
