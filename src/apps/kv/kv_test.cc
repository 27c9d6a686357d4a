// The key-value state machine: commands, exactly-once sessions, snapshots.
#include "apps/kv/kv.h"

#include <gtest/gtest.h>

#include <functional>

#include "apps/kv/kv_machine.h"

using namespace std::string_literals;

namespace phalanx::kv {
namespace {

Bytes command(std::uint64_t client, std::uint64_t seq, KvOp op, std::string key,
              std::string value = "", std::optional<std::string> expected = std::nullopt) {
  KvCommand c{ClientId{client}, seq, op, std::move(key), to_bytes(value), std::nullopt};
  if (expected) c.expected = to_bytes(*expected);
  return codec::encode(c);
}

KvReply reply(const Bytes& b) { return *codec::decode<KvReply>(b); }

TEST(KvStore, PutGetCompareAndSetDelete) {
  KvStore kv;
  EXPECT_EQ(reply(kv.apply(LogIndex{1}, command(1, 1, KvOp::kPut, "a", "1"))).status,
            KvStatus::kOk);
  EXPECT_EQ(reply(kv.apply(LogIndex{2}, command(1, 2, KvOp::kGet, "a"))).value, to_bytes("1"));
  const KvReply failed =
      reply(kv.apply(LogIndex{3}, command(1, 3, KvOp::kCompareAndSet, "a", "2", "0")));
  EXPECT_EQ(failed.status, KvStatus::kCompareFailed);
  EXPECT_EQ(failed.value, to_bytes("1"));  // the current value comes back
  EXPECT_EQ(reply(kv.apply(LogIndex{4}, command(1, 4, KvOp::kCompareAndSet, "a", "2", "1"))).status,
            KvStatus::kOk);
  EXPECT_EQ(kv.get("a"), to_bytes("2"));
  EXPECT_EQ(reply(kv.apply(LogIndex{5}, command(1, 5, KvOp::kDelete, "a"))).status, KvStatus::kOk);
  EXPECT_EQ(reply(kv.apply(LogIndex{6}, command(1, 6, KvOp::kDelete, "a"))).status,
            KvStatus::kNotFound);
  EXPECT_EQ(reply(kv.apply(LogIndex{7}, to_bytes("garbage"))).status, KvStatus::kMalformed);
}

TEST(KvStore, ARetryIsAnsweredFromTheSessionNotExecutedAgain) {
  KvStore kv;
  const Bytes put = command(1, 1, KvOp::kPut, "n", "1");
  const Bytes first = kv.apply(LogIndex{1}, put);
  EXPECT_EQ(kv.apply(LogIndex{2}, put), first);
  EXPECT_EQ(kv.executed(), 1u);
  // An older sequence than the client's last is a replay: refused.
  (void)kv.apply(LogIndex{3}, command(1, 2, KvOp::kPut, "n", "2"));
  EXPECT_EQ(reply(kv.apply(LogIndex{4}, put)).status, KvStatus::kReplay);
  EXPECT_EQ(kv.get("n"), to_bytes("2"));
}

TEST(KvStore, SnapshotRestoresDataSessionsAndPosition) {
  KvStore kv;
  for (std::uint64_t i = 1; i <= 20; ++i) {
    (void)kv.apply(LogIndex{i}, command(i % 3 + 1, i, KvOp::kPut, "k" + std::to_string(i % 7),
                                        "v" + std::to_string(i)));
  }
  Result<KvStore> back = KvStore::restore(kv.snapshot());
  ASSERT_TRUE(back) << back.error().to_string();
  EXPECT_EQ(back->digest(), kv.digest());
  EXPECT_EQ(back->last_applied(), LogIndex{20});
  EXPECT_EQ(back->get("k3"), kv.get("k3"));
  // A retry of a request applied before the snapshot is still answered from the cache.
  const Bytes retry = command(20 % 3 + 1, 20, KvOp::kPut, "k6", "v20");
  const std::uint64_t executed = back->executed();
  (void)back->apply(LogIndex{21}, retry);
  EXPECT_EQ(back->executed(), executed);
}

TEST(KvStore, RestoreRefusesAnythingButWhatSnapshotWrites) {
  KvStore kv;
  (void)kv.apply(LogIndex{1}, command(1, 1, KvOp::kPut, "a", "1"));
  (void)kv.apply(LogIndex{2}, command(1, 2, KvOp::kPut, "b", "2"));
  const Bytes good = kv.snapshot();
  Bytes trailing = good;
  trailing.push_back(0);
  EXPECT_FALSE(KvStore::restore(trailing));
  EXPECT_FALSE(KvStore::restore(ByteView(good).first(good.size() - 1)));
  // Keys out of order: a second encoding of the same state.
  codec::Writer w;
  w.id(LogIndex{2});
  w.varint(2);
  w.string("b", kKeyBytesMax);
  w.bytes(to_bytes("2"), kValueBytesMax);
  w.string("a", kKeyBytesMax);
  w.bytes(to_bytes("1"), kValueBytesMax);
  w.varint(0);
  Result<KvStore> unsorted = KvStore::restore(w.buffer());
  ASSERT_FALSE(unsorted);
  EXPECT_EQ(unsorted.error().code(), ErrorCode::kSecurity);  // MalformedInput, typed
  for (std::size_t i = 0; i < good.size(); ++i) {
    Bytes flipped = good;
    flipped[i] ^= 0x5a;
    Result<KvStore> r = KvStore::restore(flipped);  // never crashes; may decode to another state
    if (r) {
      EXPECT_NE(r->snapshot(), good);
    }
  }
}

Bytes range(std::uint64_t seq, std::string from, std::string end, std::uint32_t limit) {
  KvCommand c{ClientId{1}, seq, KvOp::kRange, std::move(from), {}, std::nullopt};
  c.range_end = std::move(end);
  c.limit = limit;
  return codec::encode(c);
}

std::vector<std::string> keys_of(const KvReply& r) {
  std::vector<std::string> keys;
  for (const KvEntry& e : r.entries) keys.push_back(e.key);
  return keys;
}

// Client 1's commands applied with consecutive sequence numbers and indexes.
struct Session {
  KvStore kv;
  std::uint64_t seq = 0;

  Bytes apply(const std::function<Bytes(std::uint64_t)>& make) {
    ++seq;
    return kv.apply(LogIndex{seq}, make(seq));
  }
  void put(const std::string& key, const std::string& value) {
    (void)apply([&](std::uint64_t s) { return command(1, s, KvOp::kPut, key, value); });
  }
  KvReply range(const std::string& from, const std::string& end, std::uint32_t limit) {
    return reply(apply([&](std::uint64_t s) { return kv::range(s, from, end, limit); }));
  }
};

TEST(KvStore, RangeListsKeysInOrderFromTheFirstUpToTheEndWithinTheLimit) {
  Session s;
  for (const char* k : {"b", "a", "c", "ab", "d"}) s.put(k, std::string("v-") + k);
  const KvReply all = s.range("", "", 0);
  EXPECT_EQ(all.status, KvStatus::kOk);
  EXPECT_EQ(keys_of(all), (std::vector<std::string>{"a", "ab", "b", "c", "d"}));
  EXPECT_EQ(all.entries[1].value, to_bytes("v-ab"));
  EXPECT_FALSE(all.more);
  // [a, c): the end is excluded.
  EXPECT_EQ(keys_of(s.range("a", "c", 0)), (std::vector<std::string>{"a", "ab", "b"}));
  // A limit stops early and says so; the next page starts after the last key.
  const KvReply page = s.range("a", "", 2);
  EXPECT_EQ(keys_of(page), (std::vector<std::string>{"a", "ab"}));
  EXPECT_TRUE(page.more);
  const KvReply last = s.range("ab\0"s, "", 3);
  EXPECT_EQ(keys_of(last), (std::vector<std::string>{"b", "c", "d"}));
  EXPECT_FALSE(last.more);  // exactly the limit, and nothing after it
  EXPECT_TRUE(s.range("x", "", 0).entries.empty());
  EXPECT_TRUE(s.range("c", "b", 0).entries.empty());  // an end before the start: nothing
}

TEST(KvStore, PrefixEndIsTheFirstKeyAfterEveryKeyWithThePrefix) {
  EXPECT_EQ(prefix_end("user/"), "user0");
  EXPECT_EQ(prefix_end("a\xff"), "b");
  EXPECT_EQ(prefix_end("\xff\xff"), "");  // no key is above them all: no end
  EXPECT_EQ(prefix_end(""), "");
  Session s;
  for (const char* k : {"user", "user/1", "user/2", "user0", "users"}) s.put(k, "v");
  EXPECT_EQ(keys_of(s.range("user/", prefix_end("user/"), 0)),
            (std::vector<std::string>{"user/1", "user/2"}));
}

TEST(KvStore, RangeStopsBeforeItsReplyOutgrowsTheByteBudget) {
  Session s;
  const std::string big(kValueBytesMax, 'x');
  for (int i = 0; i < 10; ++i) s.put("k" + std::to_string(i), big);
  const Bytes encoded = s.apply([](std::uint64_t seq) { return kv::range(seq, "", "", 0); });
  const KvReply r = reply(encoded);
  EXPECT_EQ(r.entries.size(), kRangeBytesMax / (kValueBytesMax + 2));  // 7 of 10
  EXPECT_TRUE(r.more);
  EXPECT_LE(encoded.size(), consensus::SessionTable::kReplyBytesMax);  // the session can keep it
}

TEST(KvStore, RangeLimitsAreCheckedWhenDecoding) {
  KvCommand c{ClientId{1}, 1, KvOp::kRange, "a", {}, std::nullopt};
  c.limit = kRangeEntriesMax;
  EXPECT_TRUE(codec::decode<KvCommand>(codec::encode(c)));
  codec::Writer w;  // the same command asking for one entry too many
  w.id(ClientId{1});
  w.varint(1);
  w.tag(KvOp::kRange);
  w.string("a", kKeyBytesMax);
  w.bytes({}, kValueBytesMax);
  w.u8(0);  // no expected value
  w.string("", kKeyBytesMax);
  w.varint(kRangeEntriesMax + 1);
  Result<KvCommand> too_many = codec::decode<KvCommand>(w.buffer());
  ASSERT_FALSE(too_many);
  EXPECT_EQ(too_many.error().code(), ErrorCode::kSecurity);  // MalformedInput
}

// check_limits accepts exactly what encode() may take: at each limit the
// command encodes and decodes to itself; one byte or entry past it is a
// kInvalidArgument naming the field, so a client never reaches the assert.
TEST(KvStore, CheckLimitsAcceptsWhatEncodesAndNamesWhatDoesNot) {
  KvCommand at_limits{ClientId{1},
                      1,
                      KvOp::kCompareAndSet,
                      std::string(kKeyBytesMax, 'k'),
                      Bytes(kValueBytesMax, 1),
                      Bytes(kValueBytesMax, 2)};
  at_limits.range_end = std::string(kKeyBytesMax, 'z');
  at_limits.limit = kRangeEntriesMax;
  ASSERT_TRUE(check_limits(at_limits));
  const Result<KvCommand> back = codec::decode<KvCommand>(codec::encode(at_limits));
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, at_limits);

  const auto refused = [&](const std::function<void(KvCommand&)>& spoil, std::string_view says) {
    KvCommand c = at_limits;
    spoil(c);
    const Status s = check_limits(c);
    ASSERT_FALSE(s) << says;
    EXPECT_EQ(s.error().code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(s.error().message().find(says), std::string::npos) << s.error().message();
  };
  refused([](KvCommand& c) { c.key += 'k'; }, "the key is 1025 bytes");
  refused([](KvCommand& c) { c.key = "\xff"; }, "the key is not valid UTF-8");
  refused([](KvCommand& c) { c.key = "\xed\xa0\x80"; }, "the key is not valid UTF-8");  // surrogate
  refused([](KvCommand& c) { c.range_end = "\xc3"; }, "the range end is not valid UTF-8");
  refused([](KvCommand& c) { c.value.push_back(0); }, "the value is 65537 bytes");
  refused([](KvCommand& c) { c.expected->push_back(0); }, "the expected value is 65537 bytes");
  refused([](KvCommand& c) { c.limit = kRangeEntriesMax + 1; }, "at most 1000 entries");
}

TEST(KvMachine, RangeIsAReadAnsweredByQueryAsApplyWouldAnswerIt) {
  KvMachine m;
  (void)m.apply(LogIndex{1}, command(1, 1, KvOp::kPut, "a", "1"));
  (void)m.apply(LogIndex{2}, command(1, 2, KvOp::kPut, "b", "2"));
  const Bytes r = kv::range(3, "a", "", 0);
  EXPECT_TRUE(m.read_only(r));
  EXPECT_FALSE(m.read_only(command(1, 3, KvOp::kPut, "a", "1")));
  const KvReply queried = reply(m.query(r));
  EXPECT_EQ(keys_of(queried), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(queried, reply(m.apply(LogIndex{3}, r).reply));
}

// Every refusal reaches the replica with its kind, so the node counts it:
// a replay as NonceReplay, undecodable bytes as MalformedInput; an executed
// command and a retry answered from the cache are no refusals.
TEST(KvMachine, ApplyReportsWhyItRefusedACommand) {
  KvMachine m;
  const auto kind_of = [](const consensus::StateMachine::Applied& a) -> std::string {
    if (!a.refused) return "none";
    return a.refused->security() ? std::string(kind_name(*a.refused->security())) : "other";
  };
  EXPECT_EQ(kind_of(m.apply(LogIndex{1}, command(1, 5, KvOp::kPut, "a", "1"))), "none");
  EXPECT_EQ(kind_of(m.apply(LogIndex{2}, command(1, 5, KvOp::kPut, "a", "1"))), "none");
  const consensus::StateMachine::Applied replay =
      m.apply(LogIndex{3}, command(1, 4, KvOp::kPut, "a", "2"));
  EXPECT_EQ(reply(replay.reply).status, KvStatus::kReplay);
  EXPECT_EQ(kind_of(replay), "nonce_replay");
  const consensus::StateMachine::Applied garbage = m.apply(LogIndex{4}, to_bytes("\xff\xff"));
  EXPECT_EQ(reply(garbage.reply).status, KvStatus::kMalformed);
  EXPECT_EQ(kind_of(garbage), "malformed_input");
  EXPECT_EQ(kind_of(m.apply(LogIndex{5}, command(1, 6, KvOp::kGet, "a"))), "none");
}

}  // namespace
}  // namespace phalanx::kv
