#include "sim/linearizability.h"

#include <gtest/gtest.h>

namespace phalanx::sim {
namespace {

using kv::KvOp;
using kv::KvReply;
using kv::KvStatus;

KvOperation op(std::uint64_t client, KvOp kind, std::uint64_t call,
               std::optional<std::uint64_t> ret, std::string value, std::optional<KvReply> reply,
               std::optional<std::string> expected = std::nullopt) {
  KvOperation o;
  o.invoked_at = call;
  o.returned_at = ret;
  o.command = {ClientId{client}, call, kind, "k", to_bytes(value), {}};
  if (expected) o.command.expected = to_bytes(*expected);
  o.reply = reply;
  return o;
}

KvReply ok() { return {KvStatus::kOk, std::nullopt}; }
KvReply got(std::string v) { return {KvStatus::kOk, to_bytes(v)}; }
KvReply missing() { return {KvStatus::kNotFound, std::nullopt}; }

TEST(Linearizability, SequentialHistoryPasses) {
  const auto r = check_kv_linearizable({
      op(1, KvOp::kGet, 0, 1, "", missing()),
      op(1, KvOp::kPut, 2, 3, "a", ok()),
      op(2, KvOp::kGet, 4, 5, "", got("a")),
      op(2, KvOp::kCompareAndSet, 6, 7, "b", ok(), "a"),
      op(1, KvOp::kDelete, 8, 9, "", ok()),
      op(1, KvOp::kGet, 10, 11, "", missing()),
  });
  EXPECT_TRUE(r.ok) << r.explanation;
  EXPECT_EQ(r.operations, 6u);
}

TEST(Linearizability, StaleReadAfterACompletedWriteFails) {
  const auto r = check_kv_linearizable({
      op(1, KvOp::kPut, 0, 1, "a", ok()), op(1, KvOp::kPut, 2, 3, "b", ok()),
      op(2, KvOp::kGet, 4, 5, "", got("a")),  // b was written before this read began
  });
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.explanation.find("not linearizable"), std::string::npos);
}

TEST(Linearizability, ConcurrentOperationsMayOrderEitherWay) {
  // The read overlaps the write: seeing either value is fine.
  for (const char* seen : {"a", "b"}) {
    const auto r = check_kv_linearizable({
        op(1, KvOp::kPut, 0, 1, "a", ok()),
        op(1, KvOp::kPut, 2, 10, "b", ok()),
        op(2, KvOp::kGet, 3, 5, "", got(seen)),
    });
    EXPECT_TRUE(r.ok) << seen << ": " << r.explanation;
  }
}

TEST(Linearizability, PendingWriteMayExplainALaterRead) {
  const auto r = check_kv_linearizable({
      op(1, KvOp::kPut, 0, std::nullopt, "a", std::nullopt),  // timed out, never answered
      op(2, KvOp::kGet, 50, 51, "", got("a")),
  });
  EXPECT_TRUE(r.ok) << r.explanation;
}

TEST(Linearizability, PendingWriteMayAlsoNeverHappen) {
  const auto r = check_kv_linearizable({
      op(1, KvOp::kPut, 0, std::nullopt, "a", std::nullopt),
      op(2, KvOp::kGet, 50, 51, "", missing()),
  });
  EXPECT_TRUE(r.ok) << r.explanation;
}

TEST(Linearizability, ReadsMustNotGoBackInTime) {
  const auto r = check_kv_linearizable({
      op(1, KvOp::kPut, 0, 100, "a", ok()),
      op(2, KvOp::kGet, 10, 20, "", got("a")),   // saw the write...
      op(3, KvOp::kGet, 30, 40, "", missing()),  // ...then a later read did not
  });
  EXPECT_FALSE(r.ok);
}

TEST(Linearizability, FailedCompareReportsTheCurrentValue) {
  EXPECT_TRUE(check_kv_linearizable({
                                        op(1, KvOp::kPut, 0, 1, "a", ok()),
                                        op(2, KvOp::kCompareAndSet, 2, 3, "c",
                                           KvReply{KvStatus::kCompareFailed, to_bytes("a")}, "b"),
                                    })
                  .ok);
  EXPECT_FALSE(check_kv_linearizable({
                                         op(1, KvOp::kPut, 0, 1, "a", ok()),
                                         op(2, KvOp::kCompareAndSet, 2, 3, "c", ok(),
                                            "b"),  // succeeded though a != b
                                     })
                   .ok);
}

TEST(Linearizability, KeysAreCheckedIndependently) {
  KvOperation other = op(3, KvOp::kPut, 0, 1, "x", ok());
  other.command.key = "other";
  const auto r = check_kv_linearizable({op(1, KvOp::kPut, 0, 1, "a", ok()), other});
  EXPECT_TRUE(r.ok);
  EXPECT_EQ(r.keys, 2u);
}

}  // namespace
}  // namespace phalanx::sim
