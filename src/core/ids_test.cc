#include "core/ids.h"

#include <gtest/gtest.h>

#include <type_traits>

namespace phalanx {
namespace {

TEST(Ids, DistinctTypes) {
  static_assert(!std::is_convertible_v<Term, Round>);
  static_assert(!std::is_convertible_v<Round, LogIndex>);
  static_assert(!std::is_convertible_v<std::uint64_t, Term>);
  static_assert(!std::is_constructible_v<NodeId, ClientId>);
  EXPECT_EQ(Term{3}.next(), Term{4});
  EXPECT_LT(Round{1}, Round{2});
  EXPECT_EQ(NodeId{5}.to_string(), "node(5)");
}

TEST(Ids, NextAtMaximumIsAProgrammerError) {
  EXPECT_DEATH((void)LogIndex{UINT64_MAX}.next(), "assertion failed");
}

}  // namespace
}  // namespace phalanx
