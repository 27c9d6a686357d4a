// What each malformed Raft frame gets: a MalformedInput naming the reason,
// and nothing reaches the core.
#include "consensus/raft/wire.h"

#include <gtest/gtest.h>

#include "consensus/raft/membership.h"
#include "core/codec.h"

namespace phalanx::raft {
namespace {

MalformedReason reason_of(ByteView frame) {
  Result<Untrusted<Message>> m = decode_message(frame);
  EXPECT_FALSE(m.has_value());
  if (m) return MalformedReason::kTruncated;
  const SecurityError* s = m.error().security();
  EXPECT_NE(s, nullptr);
  const auto* malformed = s ? std::get_if<MalformedInput>(s) : nullptr;
  EXPECT_NE(malformed, nullptr) << m.error().to_string();
  return malformed ? malformed->reason : MalformedReason::kTruncated;
}

Message append(std::vector<Entry> entries) {
  return Message{NodeId{1}, NodeId{2}, Term{3},
                 AppendEntries{LogIndex{4}, Term{2}, std::move(entries), LogIndex{4}, 0}};
}

// The frame header: from, to, term (one byte each here), then the body tag.
constexpr std::size_t kTagOffset = 3;

TEST(RaftWire, AppendEntriesRoundTripsWithIndexesFromPrevIndex) {
  const Bytes frame = encode_message(append({{Term{3}, LogIndex{5}, EntryKind::kNoop, {}},
                                             {Term{3}, LogIndex{6}, EntryKind::kCommand, {7, 8}}}));
  Result<Untrusted<Message>> m = decode_message(frame);
  ASSERT_TRUE(m.has_value());
  const auto& a = std::get<AppendEntries>(m->unverified().body);
  ASSERT_EQ(a.entries.size(), 2u);
  EXPECT_EQ(a.entries[1].index, LogIndex{6});
  EXPECT_EQ(a.entries[1].data, (Bytes{7, 8}));
}

TEST(RaftWire, UnknownBodyTagIsRejected) {
  Bytes frame = encode_message(Message{NodeId{1}, NodeId{2}, Term{3}, TimeoutNow{}});
  frame[kTagOffset] = 9;
  EXPECT_EQ(reason_of(frame), MalformedReason::kBadTag);
}

TEST(RaftWire, ConfigEntryThatIsNoMembershipIsRejected) {
  // An empty voter list is no valid membership: the core would assert on it.
  const Bytes bad = codec::encode(Membership{});
  const Bytes frame = encode_message(append({{Term{3}, LogIndex{5}, EntryKind::kConfig, bad}}));
  EXPECT_EQ(reason_of(frame), MalformedReason::kNonCanonical);
}

TEST(RaftWire, UnknownEntryKindIsRejected) {
  Bytes frame = encode_message(append({{Term{3}, LogIndex{5}, EntryKind::kNoop, {}}}));
  // prev_index, prev_term, count, then the entry's term and kind.
  frame[kTagOffset + 1 + 3 + 1] = kEntryKindMax + 1;
  EXPECT_EQ(reason_of(frame), MalformedReason::kBadTag);
}

TEST(RaftWire, EntryCountOverTheLimitIsRejectedBeforeReading) {
  codec::Writer w;
  w.varint(1);
  w.varint(2);
  w.varint(3);
  w.u8(4);  // AppendEntries
  w.varint(4);
  w.varint(2);
  w.varint(kEntriesPerMessageMax + 1);
  EXPECT_EQ(reason_of(w.buffer()), MalformedReason::kLengthOverLimit);
}

TEST(RaftWire, EntriesPastTheLastLogIndexAreRejected) {
  codec::Writer w;
  w.varint(1);
  w.varint(2);
  w.varint(3);
  w.u8(4);
  w.varint(~std::uint64_t{0});  // prev_index: the last representable index
  w.varint(2);
  w.varint(1);
  EXPECT_EQ(reason_of(w.buffer()), MalformedReason::kValueOutOfRange);
}

TEST(RaftWire, OversizedEntryIsRejected) {
  codec::Writer w;
  w.varint(1);
  w.varint(2);
  w.varint(3);
  w.u8(4);
  w.varint(4);
  w.varint(2);
  w.varint(1);
  w.varint(3);                       // term
  w.u8(1);                           // command
  w.varint(kEntryDataBytesMax + 1);  // length only: never allocated
  EXPECT_EQ(reason_of(w.buffer()), MalformedReason::kLengthOverLimit);
}

TEST(RaftWire, FirstSnapshotChunkWithoutManifestIsRejected) {
  // Chunk 0 must carry the manifest; cutting it leaves too few bytes.
  const Bytes frame = encode_message(
      Message{NodeId{1}, NodeId{2}, Term{3},
              InstallSnapshot{LogIndex{9}, Term{2}, 1, std::nullopt, Bytes{1, 2, 3}, 0}});
  Bytes as_chunk_zero = frame;
  as_chunk_zero[kTagOffset + 3] = 0;  // chunk 1 -> 0: the data now reads as a manifest
  EXPECT_FALSE(decode_message(as_chunk_zero).has_value());
}

TEST(RaftWire, MessageForAnotherReplicaIsRejected) {
  const Bytes frame = encode_message(Message{NodeId{1}, NodeId{2}, Term{3}, TimeoutNow{}});
  EXPECT_TRUE(decode_message(frame, NodeId{2}).has_value());
  Result<Untrusted<Message>> misrouted = decode_message(frame, NodeId{3});
  ASSERT_FALSE(misrouted.has_value());
  const auto* malformed = std::get_if<MalformedInput>(misrouted.error().security());
  ASSERT_NE(malformed, nullptr);
  EXPECT_EQ(malformed->reason, MalformedReason::kValueOutOfRange);
  EXPECT_EQ(malformed->offset, 1u);
}

TEST(RaftWire, TrailingBytesAreRejected) {
  Bytes frame = encode_message(Message{NodeId{1}, NodeId{2}, Term{3}, PreVoteReply{true}});
  frame.push_back(0);
  EXPECT_EQ(reason_of(frame), MalformedReason::kTrailingBytes);
}

TEST(RaftWire, DescribeNamesTheMessageAndItsGist) {
  EXPECT_EQ(describe(AppendEntriesReply{false, LogIndex{0}, LogIndex{7}, 0}),
            "AppendEntriesReply rejected, hint 7");
  EXPECT_EQ(describe(TimeoutNow{}), "TimeoutNow");
}

}  // namespace
}  // namespace phalanx::raft
