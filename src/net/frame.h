// What travels on a connection: length-prefixed frames, and the two frames
// of the client protocol (pure; docs/codec.md, "Connections").
//
//   frame   = length u32 (little-endian, 1 ≤ length ≤ the channel's maximum) ‖ payload
//
// A peer connection carries replica frames (consensus/*/wire.h) one way; a
// client connection carries CallFrames to the replica and AnswerFrames back.
// Which kind a connection is follows from the certificate its far end
// presented (net/tls.h), never from what it sends.
#pragma once

#include <array>
#include <cstdint>

#include "consensus/common/replica.h"
#include "core/codec.h"

namespace phalanx::net {

inline constexpr std::size_t kFrameHeaderBytes = 4;
// Replica frames carry blocks and sync responses (at most 64 MiB, consensus/bft/wire.h).
inline constexpr std::size_t kPeerFrameBytesMax = 64u << 20;
// A client frame carries one request or one answer.
inline constexpr std::size_t kClientFrameBytesMax = 2u << 20;

[[nodiscard]] std::array<std::uint8_t, kFrameHeaderBytes> frame_header(std::size_t payload_bytes);
// The payload length a header announces. MalformedInput: kLengthOverLimit
// above `max`, kValueOutOfRange for an empty frame.
[[nodiscard]] Result<std::size_t> frame_length(
    const std::array<std::uint8_t, kFrameHeaderBytes>& header, std::size_t max);

// Client → replica: one attempt of one request.
struct CallFrame {
  std::uint64_t call_id = 0;  // the client's tag, echoed in the answer
  Bytes request;              // an encoded ClientRequest (consensus/common/client_request.h)

  void encode(codec::Writer& w) const;
  [[nodiscard]] static Result<CallFrame> decode(codec::Reader& r);
  bool operator==(const CallFrame&) const = default;
};

// Replica → client: the answer to one CallFrame.
//   call_id varint ‖ outcome u8 ‖ leader_hint optional<varint> ‖ reply bytes
// For kDone in byzantine mode `reply` is an encoded, replica-signed
// ClientReply; in crash mode it is the state machine's answer. For
// kRejected it is the reason in text.
struct AnswerFrame {
  consensus::ClientAnswer answer;

  void encode(codec::Writer& w) const;
  [[nodiscard]] static Result<AnswerFrame> decode(codec::Reader& r);
};

}  // namespace phalanx::net
