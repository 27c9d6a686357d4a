// BFT messages on the wire (byzantine mode). Format: docs/codec.md, "BFT messages".
//
//   Bytes frame = bft::encode_envelope({me, to, vote});
//   Result<Untrusted<bft::Envelope>> back = bft::decode_envelope(frame, me);
//
// Decoding is strict: canonical encodings only, every count and length
// checked against its limit before anything is read. Blocks, votes and
// timeouts carry their author's signature, which the receiver checks
// (security::verify) after the channel check (security::verify_channel):
// a replica only sends its own signed messages, so a frame whose payload
// author is not its sender is refused before any signature is checked.
#pragma once

#include "consensus/bft/core.h"
#include "core/trust.h"

namespace phalanx::bft {

// A whole frame; a sync response of kSyncBlocksMax full blocks is the largest.
inline constexpr std::size_t kFrameBytesMax = 64u << 20;
inline constexpr std::size_t kSyncBlocksMax = 64;

struct Envelope {
  NodeId from;
  NodeId to;
  Payload body;

  // For security::verify_channel / authorize.
  [[nodiscard]] Principal author() const { return Principal::replica(from); }
  [[nodiscard]] Action action() const;
};

[[nodiscard]] Bytes encode_envelope(const Envelope& e);
// MalformedInput for anything encode_envelope cannot produce (including a
// frame over kFrameBytesMax), and kValueOutOfRange for a frame addressed to
// anyone but `receiver` when one is given.
[[nodiscard]] Result<Untrusted<Envelope>> decode_envelope(
    ByteView frame, std::optional<NodeId> receiver = std::nullopt);

// An equivocation proof as stored and exported (docs/codec.md):
// author varint ‖ round varint ‖ first payload ‖ second payload, each
// payload being its tag and body as in a frame. Anyone holding the
// registry can check it: both payloads signed by `author` for `round`.
void encode_evidence(codec::Writer& w, const EquivocationProof& proof);
[[nodiscard]] Result<EquivocationProof> decode_evidence(codec::Reader& r);

// The signer a payload claims (a block's proposer, a vote's voter, a
// timeout's author); nullopt for sync messages, which are unsigned.
[[nodiscard]] std::optional<NodeId> signed_by(const Payload& body);

// The payload in one line, for traces and logs: "Vote r7 by 3".
[[nodiscard]] std::string describe(const Payload& body);

}  // namespace phalanx::bft
