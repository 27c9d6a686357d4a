#include "core/expected.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

namespace phalanx {
namespace {

TEST(Expected, HoldsValueOrError) {
  Expected<std::string, int> ok = std::string("v");
  ASSERT_TRUE(ok);
  EXPECT_EQ(*ok, "v");
  EXPECT_EQ(ok->size(), 1u);

  Expected<std::string, int> bad = Unexpected(7);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error(), 7);
}

TEST(Expected, MoveOnlyValues) {
  Expected<std::unique_ptr<int>, int> p = std::make_unique<int>(5);
  std::unique_ptr<int> taken = *std::move(p);
  EXPECT_EQ(*taken, 5);
}

TEST(Expected, RvalueDereferenceDoesNotDangle) {
  auto make = [] { return Expected<std::vector<int>, int>(std::vector<int>{1, 2, 3}); };
  int sum = 0;
  for (int v : *make()) sum += v;  // the temporary's value is moved out, not borrowed
  EXPECT_EQ(sum, 6);
}

TEST(Expected, VoidSpecialization) {
  Expected<void, std::string> ok;
  EXPECT_TRUE(ok.has_value());
  Expected<void, std::string> bad = Unexpected(std::string("no"));
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error(), "no");
}

TEST(Expected, WrongSideAccessIsAProgrammerError) {
  Expected<int, int> bad = Unexpected(1);
  EXPECT_DEATH((void)*bad, "assertion failed");
  Expected<int, int> ok = 1;
  EXPECT_DEATH((void)ok.error(), "assertion failed");
}

}  // namespace
}  // namespace phalanx
