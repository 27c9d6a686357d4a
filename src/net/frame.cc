#include "net/frame.h"

#include "consensus/common/client_reply.h"
#include "consensus/common/client_request.h"

namespace phalanx::net {
namespace {

constexpr std::uint8_t kCallOutcomeMax = 2;
// An encoded ClientRequest or ClientReply, whichever is larger, and then some.
constexpr std::size_t kPayloadBytesMax = consensus::ClientReply::kResultBytesMax + 4096;
static_assert(consensus::ClientRequest::kOperationBytesMax < kPayloadBytesMax);
static_assert(kPayloadBytesMax + 64 < kClientFrameBytesMax);

}  // namespace

std::array<std::uint8_t, kFrameHeaderBytes> frame_header(std::size_t payload_bytes) {
  std::array<std::uint8_t, kFrameHeaderBytes> h{};
  for (std::size_t i = 0; i < h.size(); ++i) {
    h[i] = static_cast<std::uint8_t>(payload_bytes >> (8 * i));
  }
  return h;
}

Result<std::size_t> frame_length(const std::array<std::uint8_t, kFrameHeaderBytes>& header,
                                 std::size_t max) {
  std::size_t length = 0;
  for (std::size_t i = 0; i < header.size(); ++i) {
    length |= static_cast<std::size_t>(header[i]) << (8 * i);
  }
  if (length == 0) return codec::Reader::malformed(MalformedReason::kValueOutOfRange, 0);
  if (length > max) return codec::Reader::malformed(MalformedReason::kLengthOverLimit, 0);
  return length;
}

void CallFrame::encode(codec::Writer& w) const {
  w.varint(call_id);
  w.bytes(request, kPayloadBytesMax);
}

Result<CallFrame> CallFrame::decode(codec::Reader& r) {
  CallFrame f;
  PHALANX_ASSIGN_OR_RETURN(f.call_id, r.varint());
  PHALANX_ASSIGN_OR_RETURN(f.request, r.bytes(kPayloadBytesMax));
  return f;
}

void AnswerFrame::encode(codec::Writer& w) const {
  w.varint(answer.call_id);
  w.tag(answer.outcome);
  w.optional(answer.leader_hint, [](codec::Writer& out, NodeId id) { out.id(id); });
  w.bytes(answer.reply, kPayloadBytesMax);
}

Result<AnswerFrame> AnswerFrame::decode(codec::Reader& r) {
  AnswerFrame f;
  PHALANX_ASSIGN_OR_RETURN(f.answer.call_id, r.varint());
  PHALANX_ASSIGN_OR_RETURN(f.answer.outcome, r.tag<consensus::CallOutcome>(kCallOutcomeMax));
  PHALANX_ASSIGN_OR_RETURN(f.answer.leader_hint,
                           r.optional<NodeId>([](codec::Reader& in) { return in.id<NodeId>(); }));
  PHALANX_ASSIGN_OR_RETURN(f.answer.reply, r.bytes(kPayloadBytesMax));
  return f;
}

}  // namespace phalanx::net
