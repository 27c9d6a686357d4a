#include "consensus/bft/wire.h"

#include <fmt/format.h>

#include "core/overloaded.h"

namespace phalanx::bft {
namespace {

using codec::Reader;
using codec::Writer;

void encode_body(Writer& w, const Block& b) { b.encode(w); }
void encode_body(Writer& w, const Vote& v) { v.encode(w); }
void encode_body(Writer& w, const Timeout& t) { t.encode(w); }
void encode_body(Writer& w, const Checkpoint& c) { c.encode(w); }
void encode_body(Writer& w, const SyncRequest& s) { w.fixed(s.block); }
void encode_body(Writer& w, const SyncResponse& s) {
  w.sequence(std::span<const Block>(s.blocks), kSyncBlocksMax,
             [](Writer& out, const Block& b) { b.encode(out); });
}
void encode_body(Writer& w, const SnapshotRequest& s) {
  w.varint(s.height);
  w.varint(s.chunk);
}
void encode_body(Writer& w, const SnapshotChunk& s) {
  w.varint(s.height);
  w.varint(s.chunk);
  w.optional(s.cert, [](Writer& out, const CheckpointCert& c) { c.encode(out); });
  w.optional(s.manifest, [](Writer& out, const crypto::ChunkManifest& m) { m.encode(out); });
  w.bytes(s.data, SnapshotChunk::kDataBytesMax);
}

// The certificate and manifest travel with chunk 0 and only with it.
Result<SnapshotChunk> decode_snapshot_chunk(Reader& r) {
  SnapshotChunk s;
  PHALANX_ASSIGN_OR_RETURN(s.height, r.varint());
  PHALANX_ASSIGN_OR_RETURN(s.chunk, r.varint());
  const std::size_t header_at = r.offset();
  PHALANX_ASSIGN_OR_RETURN(
      s.cert, r.optional<CheckpointCert>([](Reader& in) { return CheckpointCert::decode(in); }));
  PHALANX_ASSIGN_OR_RETURN(s.manifest, r.optional<crypto::ChunkManifest>([](Reader& in) {
    return crypto::ChunkManifest::decode(in);
  }));
  const bool first = s.chunk == 0;
  if (s.cert.has_value() != first || s.manifest.has_value() != first) {
    return Reader::malformed(MalformedReason::kNonCanonical, header_at);
  }
  PHALANX_ASSIGN_OR_RETURN(s.data, r.bytes(SnapshotChunk::kDataBytesMax));
  return s;
}

template <class T>
Result<Payload> as_payload(Result<T> body) {
  if (!body) return Unexpected(std::move(body).error());
  return Payload(std::move(*body));
}

// The body's tag is its index in Payload.
Result<Payload> decode_body(Reader& r) {
  const std::size_t tag_at = r.offset();
  PHALANX_ASSIGN_OR_RETURN(std::uint8_t tag, r.u8());
  switch (tag) {
    case 0: return as_payload(Block::decode(r));
    case 1: return as_payload(Vote::decode(r));
    case 2: return as_payload(Timeout::decode(r));
    case 3: {
      PHALANX_ASSIGN_OR_RETURN(BlockId id, r.fixed<32>());
      return Payload(SyncRequest{id});
    }
    case 4: {
      SyncResponse s;
      PHALANX_ASSIGN_OR_RETURN(s.blocks, r.sequence<Block>(kSyncBlocksMax, [](Reader& in) {
        return Block::decode(in);
      }));
      return Payload(std::move(s));
    }
    case 5: return as_payload(Checkpoint::decode(r));
    case 6: {
      SnapshotRequest s;
      PHALANX_ASSIGN_OR_RETURN(s.height, r.varint());
      PHALANX_ASSIGN_OR_RETURN(s.chunk, r.varint());
      return Payload(s);
    }
    case 7: return as_payload(decode_snapshot_chunk(r));
    default: return Reader::malformed(MalformedReason::kBadTag, tag_at);
  }
}

void encode_payload(Writer& w, const Payload& body) {
  w.u8(static_cast<std::uint8_t>(body.index()));
  std::visit([&](const auto& b) { encode_body(w, b); }, body);
}

}  // namespace

void encode_evidence(Writer& w, const EquivocationProof& proof) {
  w.id(proof.author);
  w.id(proof.round);
  encode_payload(w, proof.first);
  encode_payload(w, proof.second);
}

Result<EquivocationProof> decode_evidence(Reader& r) {
  EquivocationProof p;
  PHALANX_ASSIGN_OR_RETURN(p.author, r.id<NodeId>());
  PHALANX_ASSIGN_OR_RETURN(p.round, r.id<Round>());
  PHALANX_ASSIGN_OR_RETURN(p.first, decode_body(r));
  PHALANX_ASSIGN_OR_RETURN(p.second, decode_body(r));
  return p;
}

Action Envelope::action() const {
  return std::visit(Overloaded{
                        [](const Block&) { return Action::kPropose; },
                        [](const Vote&) { return Action::kVote; },
                        [](const Timeout&) { return Action::kTimeout; },
                        [](const Checkpoint&) { return Action::kCheckpoint; },
                        [](const auto&) { return Action::kReplicate; },
                    },
                    body);
}

Bytes encode_envelope(const Envelope& e) {
  Writer w;
  w.id(e.from);
  w.id(e.to);
  encode_payload(w, e.body);
  return w.take();
}

Result<Untrusted<Envelope>> decode_envelope(ByteView frame, std::optional<NodeId> receiver) {
  if (frame.size() > kFrameBytesMax) {
    return Reader::malformed(MalformedReason::kLengthOverLimit, kFrameBytesMax);
  }
  Reader r(frame);
  Envelope e;
  PHALANX_ASSIGN_OR_RETURN(e.from, r.id<NodeId>());
  const std::size_t to_at = r.offset();
  PHALANX_ASSIGN_OR_RETURN(e.to, r.id<NodeId>());
  if (receiver && e.to != *receiver) {
    return Reader::malformed(MalformedReason::kValueOutOfRange, to_at);
  }
  PHALANX_ASSIGN_OR_RETURN(e.body, decode_body(r));
  PHALANX_TRY(r.finish());
  return Untrusted<Envelope>(std::move(e));
}

std::optional<NodeId> signed_by(const Payload& body) {
  return std::visit(Overloaded{
                        [](const Block& b) -> std::optional<NodeId> { return b.proposer; },
                        [](const Vote& v) -> std::optional<NodeId> { return v.voter; },
                        [](const Timeout& t) -> std::optional<NodeId> { return t.author_id; },
                        [](const Checkpoint& c) -> std::optional<NodeId> { return c.signer; },
                        [](const auto&) -> std::optional<NodeId> { return std::nullopt; },
                    },
                    body);
}

std::string describe(const Payload& body) {
  return std::visit(Overloaded{
                        [](const Block& b) {
                          return fmt::format(
                              "Block r{} by {} qc r{}{} requests {}", b.round.value(),
                              b.proposer.value(), b.qc.round.value(),
                              b.tc ? fmt::format(" tc r{}", b.tc->round.value()) : "",
                              b.requests.size());
                        },
                        [](const Vote& v) {
                          return fmt::format("Vote r{} by {}", v.round.value(), v.voter.value());
                        },
                        [](const Timeout& t) {
                          return fmt::format("Timeout r{} by {} high qc r{}", t.round.value(),
                                             t.author_id.value(), t.high_qc.round.value());
                        },
                        [](const Checkpoint& c) {
                          return fmt::format("Checkpoint h{} by {}", c.height, c.signer.value());
                        },
                        [](const SyncRequest&) { return std::string("SyncRequest"); },
                        [](const SyncResponse& s) {
                          return fmt::format("SyncResponse blocks {}", s.blocks.size());
                        },
                        [](const SnapshotRequest& s) {
                          return fmt::format("SnapshotRequest h{} chunk {}", s.height, s.chunk);
                        },
                        [](const SnapshotChunk& s) {
                          return fmt::format("SnapshotChunk h{} chunk {} bytes {}", s.height,
                                             s.chunk, s.data.size());
                        },
                    },
                    body);
}

}  // namespace phalanx::bft
