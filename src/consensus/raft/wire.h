// Raft messages on the wire (crash mode). Format: docs/codec.md, "Raft messages".
//
//   Bytes frame = raft::encode_message(m);
//   Result<Untrusted<raft::Message>> back = raft::decode_message(frame);
//
// Decoding is strict: canonical encodings only, every length checked against
// its limit before anything is read, and what the core relies on is checked
// here (a config entry holds a valid Membership; only chunk 0 of a snapshot
// carries the manifest). An entry's index is not sent: it follows from
// prev_index, so a message cannot carry a gap.
#pragma once

#include "consensus/raft/types.h"
#include "core/trust.h"

namespace phalanx::raft {

// Per AppendEntries; the core sends at most Config::entries_per_message_max.
inline constexpr std::size_t kEntriesPerMessageMax = 4096;
// A client command (KV: key and value plus framing) or a membership.
inline constexpr std::size_t kEntryDataBytesMax = (1u << 20) + 4096;

[[nodiscard]] Bytes encode_message(const Message& m);
// MalformedInput (a SecurityError) for anything encode_message cannot
// produce, and (kValueOutOfRange) for a message addressed to anyone but
// `receiver` when one is given.
[[nodiscard]] Result<Untrusted<Message>> decode_message(
    ByteView frame, std::optional<NodeId> receiver = std::nullopt);

// The message in one line, for traces and logs: "AppendEntries prev 4 entries 2 commit 3".
[[nodiscard]] std::string describe(const MessageBody& body);

}  // namespace phalanx::raft
