// The key-value state machine: commands, exactly-once sessions, snapshots.
#include "apps/kv/kv.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace phalanx::kv
