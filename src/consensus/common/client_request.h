// A client's signed request to the replicated state machine.
//
// (client, sequence) names the request for exactly-once execution: the
// replicated session table (a later layer) rejects a sequence number it has
// already executed for that client, so a captured request cannot be
// replayed. The cluster id is signed too, so a request for one cluster
// cannot be replayed into another.
//
// Wire form (docs/codec.md): cluster fixed<16> ‖ client varint ‖
// sequence varint ‖ operation bytes(≤ kOperationBytesMax) ‖ signature fixed<64>.
// The signature covers everything before it, under domain
// phalanx/v1/client-request.
#pragma once

#include <cstdint>

#include "core/codec.h"
#include "core/ids.h"
#include "core/principal.h"
#include "crypto/keys.h"

namespace phalanx::consensus {

struct ClientRequest {
  static constexpr SignDomain kDomain = SignDomain::kClientRequest;
  static constexpr Action kAction = Action::kSubmitRequest;
  static constexpr std::size_t kOperationBytesMax = 1 << 20;

  ClusterId cluster;
  ClientId client;
  std::uint64_t sequence = 0;
  Bytes operation;
  crypto::Signature signature;

  [[nodiscard]] Principal author() const { return Principal::client(client); }

  void encode_signed(codec::Writer& w) const {
    w.fixed(cluster);
    w.id(client);
    w.varint(sequence);
    w.bytes(operation, kOperationBytesMax);
  }

  void encode(codec::Writer& w) const {
    encode_signed(w);
    w.fixed(signature);
  }

  [[nodiscard]] static Result<ClientRequest> decode(codec::Reader& r) {
    ClientRequest req;
    PHALANX_ASSIGN_OR_RETURN(req.cluster, r.fixed<16>());
    PHALANX_ASSIGN_OR_RETURN(req.client, r.id<ClientId>());
    PHALANX_ASSIGN_OR_RETURN(req.sequence, r.varint());
    PHALANX_ASSIGN_OR_RETURN(req.operation, r.bytes(kOperationBytesMax));
    PHALANX_ASSIGN_OR_RETURN(req.signature, r.fixed<64>());
    return req;
  }

  bool operator==(const ClientRequest&) const = default;
};

}  // namespace phalanx::consensus
