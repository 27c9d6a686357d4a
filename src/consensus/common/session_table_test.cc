#include "consensus/common/session_table.h"

#include <gtest/gtest.h>

namespace phalanx::consensus {
namespace {

TEST(SessionTable, ExecuteOnceThenCachedReplyThenReplay) {
  SessionTable t;
  const ClientId c{7};
  EXPECT_EQ(t.check(c, 1).kind, SessionDecision::kExecute);
  t.record(c, 1, LogIndex{10}, to_bytes("ok-1"));
  const SessionDecision retry = t.check(c, 1);
  ASSERT_EQ(retry.kind, SessionDecision::kCachedReply);
  EXPECT_EQ(*retry.reply, to_bytes("ok-1"));
  t.record(c, 5, LogIndex{11}, to_bytes("ok-5"));
  const SessionDecision old = t.check(c, 1);
  ASSERT_EQ(old.kind, SessionDecision::kReplay);
  const Error e = t.rejection(c, 1, old);
  const auto& replay = std::get<NonceReplay>(*e.security());
  EXPECT_EQ(replay.nonce, 1u);
  EXPECT_EQ(replay.highest_seen, 5u);
}

TEST(SessionTable, BoundedWithoutEviction) {
  SessionTable t(2);
  t.record(ClientId{1}, 1, LogIndex{1}, {});
  t.record(ClientId{2}, 1, LogIndex{2}, {});
  const SessionDecision d = t.check(ClientId{3}, 1);
  ASSERT_EQ(d.kind, SessionDecision::kTableFull);
  EXPECT_TRUE(
      std::holds_alternative<RateLimitExceeded>(*t.rejection(ClientId{3}, 1, d).security()));
  EXPECT_EQ(t.check(ClientId{1}, 2).kind, SessionDecision::kExecute);  // known clients go on
}

TEST(SessionTable, SurvivesASnapshotRoundTrip) {
  SessionTable t;
  t.record(ClientId{9}, 3, LogIndex{4}, to_bytes("r9"));
  t.record(ClientId{2}, 8, LogIndex{5}, to_bytes("r2"));
  Result<SessionTable> back = codec::decode<SessionTable>(codec::encode(t));
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, t);
  EXPECT_EQ(back->check(ClientId{9}, 3).kind, SessionDecision::kCachedReply);
  EXPECT_EQ(back->check(ClientId{9}, 2).kind, SessionDecision::kReplay);
}

TEST(SessionTable, UnsortedEncodingIsRejected) {
  codec::Writer w;
  w.varint(2);
  for (std::uint64_t id : {5, 3}) {
    w.varint(id);
    w.varint(1);
    w.varint(1);
    w.bytes({}, 16);
  }
  Result<SessionTable> t = codec::decode<SessionTable>(w.buffer());
  ASSERT_FALSE(t);
  EXPECT_EQ(std::get<MalformedInput>(*t.error().security()).reason, MalformedReason::kNonCanonical);
}

}  // namespace
}  // namespace phalanx::consensus
