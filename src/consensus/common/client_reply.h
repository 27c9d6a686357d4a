// A replica's signed answer to a client request (byzantine mode).
//
// A client cannot trust any one replica, so each replica signs what it
// executed, and the client accepts a result once f+1 distinct replicas
// sent the same (client, sequence, result): at least one of them is honest.
// The cluster id is signed too, so a reply from one cluster cannot be
// passed off in another.
//
// Wire form (docs/codec.md): cluster fixed<16> ‖ replica varint ‖ client varint ‖
// sequence varint ‖ result bytes(≤ kResultBytesMax) ‖ signature fixed<64>.
// The signature covers everything before it, under domain phalanx/v1/reply.
#pragma once

#include "core/codec.h"
#include "core/ids.h"
#include "core/principal.h"
#include "crypto/keys.h"

namespace phalanx::consensus {

struct ClientReply {
  static constexpr SignDomain kDomain = SignDomain::kReply;
  static constexpr Action kAction = Action::kVote;  // a replica's statement
  static constexpr std::size_t kResultBytesMax = (1 << 20) + 4096;

  ClusterId cluster;
  NodeId replica;
  ClientId client;
  std::uint64_t sequence = 0;
  Bytes result;
  crypto::Signature signature = {};

  [[nodiscard]] Principal author() const { return Principal::replica(replica); }

  void encode_signed(codec::Writer& w) const {
    w.fixed(cluster);
    w.id(replica);
    w.id(client);
    w.varint(sequence);
    w.bytes(result, kResultBytesMax);
  }

  void encode(codec::Writer& w) const {
    encode_signed(w);
    w.fixed(signature);
  }

  [[nodiscard]] static Result<ClientReply> decode(codec::Reader& r) {
    ClientReply reply;
    PHALANX_ASSIGN_OR_RETURN(reply.cluster, r.fixed<16>());
    PHALANX_ASSIGN_OR_RETURN(reply.replica, r.id<NodeId>());
    PHALANX_ASSIGN_OR_RETURN(reply.client, r.id<ClientId>());
    PHALANX_ASSIGN_OR_RETURN(reply.sequence, r.varint());
    PHALANX_ASSIGN_OR_RETURN(reply.result, r.bytes(kResultBytesMax));
    PHALANX_ASSIGN_OR_RETURN(reply.signature, r.fixed<64>());
    return reply;
  }

  bool operator==(const ClientReply&) const = default;
};

}  // namespace phalanx::consensus
