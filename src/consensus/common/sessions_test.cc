#include "consensus/common/sessions.h"

#include <gtest/gtest.h>

namespace phalanx::consensus {
namespace {

const ClientId kAlice{7};
const ClientId kMallory{9};

// Two processes sharing one identity, each with its own session and its own
// sequence numbers starting at 1: neither's requests look like the other's
// replays (one table entry per identity refused half of them).
TEST(Sessions, SessionsOfOneIdentityNumberTheirRequestsApart) {
  Sessions t;
  const SessionId a = t.open(kAlice, 1).value();
  const SessionId b = t.open(kAlice, 1).value();
  EXPECT_NE(a, b);
  for (std::uint64_t seq = 1; seq <= 3; ++seq) {
    for (const SessionId s : {a, b}) {
      ASSERT_EQ(t.check(kAlice, s, seq).verdict, SessionVerdict::kExecute);
      t.record(kAlice, s, seq, 2, to_bytes("ok"));
    }
  }
  EXPECT_EQ(t.sessions_of(kAlice), 2u);
}

TEST(Sessions, ARetryGetsTheCachedReplyAndAnOlderRequestIsAReplay) {
  Sessions t;
  const SessionId s = t.open(kAlice, 1).value();
  EXPECT_EQ(t.check(kAlice, s, 0).verdict, SessionVerdict::kReplay);  // 0 is never executed
  t.record(kAlice, s, 4, 2, to_bytes("four"));
  const SessionCheck retry = t.check(kAlice, s, 4);
  ASSERT_EQ(retry.verdict, SessionVerdict::kCached);
  EXPECT_EQ(*retry.reply, to_bytes("four"));
  const SessionCheck old = t.check(kAlice, s, 3);
  ASSERT_EQ(old.verdict, SessionVerdict::kReplay);
  const Error e = t.rejection(kAlice, s, 3, old);
  const auto& replay = std::get<NonceReplay>(*e.security());
  EXPECT_EQ(replay.nonce, 3u);
  EXPECT_EQ(replay.highest_seen, 4u);
}

// Attack: use another identity's session (to spend its sequence numbers or
// read its cached replies). Refused as unauthorized; the session is untouched.
TEST(Sessions, AnotherIdentitysSessionIsRefused) {
  Sessions t;
  const SessionId s = t.open(kAlice, 1).value();
  const SessionCheck c = t.check(kMallory, s, 1);
  ASSERT_EQ(c.verdict, SessionVerdict::kNotYours);
  EXPECT_TRUE(
      std::holds_alternative<AuthorizationDenied>(*t.rejection(kMallory, s, 1, c).security()));
  EXPECT_EQ(t.check(kAlice, s, 1).verdict, SessionVerdict::kExecute);
}

// Attack: resend a captured request after its session expired. It is refused
// as expired (its id is below the next one), never executed as new.
TEST(Sessions, AnExpiredSessionIsRefusedNeverRestarted) {
  Sessions t({.expire_after = 10});
  const SessionId s = t.open(kAlice, 1).value();
  t.record(kAlice, s, 1, 5, to_bytes("r"));
  t.expire(14);
  EXPECT_EQ(t.check(kAlice, s, 2).verdict, SessionVerdict::kExecute);  // idle 9 < 10
  t.expire(15);
  const SessionCheck c = t.check(kAlice, s, 2);
  ASSERT_EQ(c.verdict, SessionVerdict::kExpired);
  const Error e = t.rejection(kAlice, s, 2, c);
  EXPECT_EQ(e.code(), ErrorCode::kNotFound);
  EXPECT_NE(e.message().find("expired"), std::string::npos) << e.message();
  // A new session gets a new id; the old one stays refused.
  EXPECT_GT(t.open(kAlice, 16).value(), s);
  EXPECT_EQ(t.check(kAlice, s, 1).verdict, SessionVerdict::kExpired);
}

TEST(Sessions, AnIdNeverHandedOutIsUnknown) {
  Sessions t;
  const SessionId s = t.open(kAlice, 1).value();
  EXPECT_EQ(t.check(kAlice, SessionId{0}, 1).verdict, SessionVerdict::kUnknown);
  const SessionCheck c = t.check(kAlice, s.next(), 1);
  ASSERT_EQ(c.verdict, SessionVerdict::kUnknown);
  EXPECT_EQ(t.rejection(kAlice, s.next(), 1, c).code(), ErrorCode::kNotFound);
}

// Attack: open sessions without end to push others out. An identity over
// its own limit loses its own least recently used session; the table over
// its limit refuses new ones (rate limited) until idle ones expire.
TEST(Sessions, OpeningWithoutEndEvictsOnlyYourOwnThenIsRefused) {
  Sessions t({.expire_after = 100, .sessions_max = 4, .sessions_per_client_max = 2});
  const std::optional<SessionId> alice = t.open(kAlice, 1);
  const std::optional<SessionId> m1 = t.open(kMallory, 2);
  const std::optional<SessionId> m2 = t.open(kMallory, 3);
  ASSERT_TRUE(alice && m1 && m2);
  t.record(kMallory, *m1, 1, 4, {});  // m2 is now Mallory's idlest
  const std::optional<SessionId> m3 = t.open(kMallory, 5);
  ASSERT_TRUE(m3);
  EXPECT_EQ(t.check(kMallory, *m2, 1).verdict, SessionVerdict::kExpired);
  EXPECT_EQ(t.check(kMallory, *m1, 2).verdict, SessionVerdict::kExecute);
  EXPECT_EQ(t.check(kMallory, *m3, 1).verdict, SessionVerdict::kExecute);
  EXPECT_EQ(t.check(kAlice, *alice, 1).verdict, SessionVerdict::kExecute);
  ASSERT_TRUE(t.open(ClientId{11}, 6));
  EXPECT_FALSE(t.open(ClientId{12}, 7));  // four live, none idle long enough: full
  EXPECT_TRUE(std::holds_alternative<RateLimitExceeded>(*t.full_rejection().security()));
  EXPECT_TRUE(t.open(ClientId{12}, 102));  // Alice's (idle since 1) expired to make room
  EXPECT_EQ(t.check(kAlice, *alice, 1).verdict, SessionVerdict::kExpired);
  EXPECT_EQ(t.check(kMallory, *m1, 2).verdict, SessionVerdict::kExecute);
}

TEST(Sessions, SurviveASnapshotRoundTripAndRefuseNonCanonicalBytes) {
  Sessions t;
  const SessionId a = t.open(kAlice, 1).value();
  ASSERT_TRUE(t.open(kMallory, 2));
  t.record(kAlice, a, 3, 4, to_bytes("r"));
  Result<Sessions> back = codec::decode<Sessions>(codec::encode(t));
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, t);
  EXPECT_EQ(*back->check(kAlice, a, 3).reply, to_bytes("r"));

  // next id 3; one session with id 3 (not yet handed out).
  codec::Writer w;
  w.id(SessionId{3});
  w.varint(1);
  w.id(SessionId{3});
  w.id(kAlice);
  w.varint(1);
  w.varint(1);
  w.bytes(Bytes{}, 16);
  EXPECT_FALSE(codec::decode<Sessions>(w.buffer()));
}

}  // namespace
}  // namespace phalanx::consensus
