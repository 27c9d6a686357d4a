#include "consensus/common/quorum.h"

#include <gtest/gtest.h>

namespace phalanx::consensus {
namespace {

struct Row {
  std::uint32_t n;
  std::optional<double> ratio;
  std::uint32_t q, safe, live;
};

TEST(Quorum, ByzantineDefaultsAndRatios) {
  const Row rows[] = {
      {4, {}, 3, 1, 1},      {5, {}, 4, 2, 1},    {7, {}, 5, 2, 2},   {10, {}, 7, 3, 3},
      {100, {}, 67, 33, 33}, {10, 0.75, 8, 5, 2}, {4, 0.75, 3, 1, 1}, {4, 1.0, 4, 3, 0},
      {7, 0.5, 5, 2, 2},  // a ratio below the default never lowers q
  };
  for (const Row& row : rows) {
    Result<Quorum> q = Quorum::byzantine(row.n, row.ratio);
    ASSERT_TRUE(q.has_value()) << row.n;
    EXPECT_EQ(q->size(), row.q) << row.n;
    EXPECT_EQ(q->safety_tolerance(), row.safe) << row.n;
    EXPECT_EQ(q->liveness_tolerance(), row.live) << row.n;
  }
}

TEST(Quorum, ConfigurationsThatTolerateNoLiarAreRefused) {
  for (std::uint32_t n : {1u, 2u, 3u}) {
    Result<Quorum> q = Quorum::byzantine(n);
    ASSERT_FALSE(q.has_value()) << n;
    EXPECT_EQ(q.error().code(), ErrorCode::kInvalidArgument);
  }
  EXPECT_FALSE(Quorum::byzantine_exact(10, 5).has_value());  // two quorums may share no one
  EXPECT_TRUE(Quorum::byzantine_exact(10, 6).has_value());   // they share 2: one liar is safe
  EXPECT_FALSE(Quorum::byzantine_exact(4, 5).has_value());   // q above n
  EXPECT_FALSE(Quorum::byzantine(4, 0.0).has_value());
  EXPECT_FALSE(Quorum::byzantine(4, 1.5).has_value());
  EXPECT_FALSE(Quorum::byzantine(0).has_value());
  EXPECT_FALSE(Quorum::byzantine(Quorum::kReplicasMax + 1).has_value());
}

// Whatever n and ratio: two quorums share more replicas than the tolerated
// liars, and the live replicas can still form a quorum.
TEST(Quorum, EveryAcceptedConfigurationKeepsItsPromises) {
  for (std::uint32_t n = 1; n <= 200; ++n) {
    for (double ratio : {0.1, 0.5, 0.67, 0.75, 0.9, 1.0}) {
      Result<Quorum> q = Quorum::byzantine(n, ratio);
      if (!q) continue;
      EXPECT_GE(q->safety_tolerance(), 1u);
      EXPECT_GE(2 * q->size() - n, q->safety_tolerance() + 1);  // an honest replica in common
      EXPECT_EQ(n - q->liveness_tolerance(), q->size());
      EXPECT_GE(q->size(), static_cast<std::uint32_t>(ratio * n - 1e-9));
    }
  }
}

TEST(Quorum, CrashIsAMajority) {
  EXPECT_EQ(Quorum::crash(1)->size(), 1u);
  EXPECT_EQ(Quorum::crash(3)->size(), 2u);
  EXPECT_EQ(Quorum::crash(4)->size(), 3u);
  EXPECT_EQ(Quorum::crash(5)->liveness_tolerance(), 2u);
}

TEST(Quorum, DescribeStatesBothTolerances) {
  EXPECT_EQ(Quorum::byzantine(4)->describe(),
            "n 4, q 3: safe with up to 1 Byzantine replica, live with up to 1 unavailable");
}

}  // namespace
}  // namespace phalanx::consensus
