#include "storage/atomic_file.h"

#include <gtest/gtest.h>

#include "consensus/raft/hard_state.h"
#include "sim/sim_file_system.h"
#include "storage/hard_state.h"

namespace phalanx::storage {
namespace {

using sim::SimFileSystem;

TEST(AtomicFile, WriteReadReplace) {
  SimFileSystem fs(1);
  EXPECT_FALSE(*read_atomic(fs, "/m", 100));  // absent: nullopt, not an error
  ASSERT_TRUE(write_atomic(fs, "/m", to_bytes("one")));
  ASSERT_TRUE(write_atomic(fs, "/m", to_bytes("two")));
  fs.power_cycle();
  EXPECT_EQ(**read_atomic(fs, "/m", 100), to_bytes("two"));
  EXPECT_FALSE(*fs.exists("/m.tmp"));
}

TEST(AtomicFile, PowerLossAtEveryStepLeavesOldOrNew) {
  for (std::uint64_t step = 0; step < 8; ++step) {
    for (std::uint64_t seed = 0; seed < 20; ++seed) {
      SimFileSystem fs(seed);
      ASSERT_TRUE(write_atomic(fs, "/m", to_bytes("old value")));
      fs.schedule_power_loss(step);
      const bool completed = write_atomic(fs, "/m", to_bytes("new!")).has_value();
      fs.power_cycle();
      Result<std::optional<Bytes>> got = read_atomic(fs, "/m", 100);
      ASSERT_TRUE(got) << got.error().to_string();
      ASSERT_TRUE(got->has_value());
      if (completed) {
        EXPECT_EQ(**got, to_bytes("new!")) << "step " << step << " seed " << seed;
      } else {
        EXPECT_TRUE(**got == to_bytes("old value") || **got == to_bytes("new!"));
      }
    }
  }
}

TEST(AtomicFile, AnyFlippedBitIsCorruptionNamingTheFile) {
  SimFileSystem fs(2);
  ASSERT_TRUE(write_atomic(fs, "/m", to_bytes("payload")));
  const std::size_t size = fs.TEST_contents("/m").size();
  for (std::size_t offset = 0; offset < size; ++offset) {
    fs.flip_bit("/m", offset, static_cast<int>(offset % 8));
    Result<std::optional<Bytes>> got = read_atomic(fs, "/m", 100);
    ASSERT_FALSE(got) << offset;
    EXPECT_EQ(got.error().code(), ErrorCode::kCorruption);
    EXPECT_NE(got.error().message().find("/m"), std::string::npos);
    fs.flip_bit("/m", offset, static_cast<int>(offset % 8));
  }
}

TEST(AtomicFile, TruncatedFileIsCorruption) {
  SimFileSystem fs(3);
  ASSERT_TRUE(write_atomic(fs, "/m", to_bytes("payload")));
  Bytes image = fs.TEST_contents("/m");
  image.pop_back();
  fs.TEST_put("/m", image);
  EXPECT_EQ(read_atomic(fs, "/m", 100).error().code(), ErrorCode::kCorruption);
}

TEST(HardState, RoundTripsAndAbsentIsNullopt) {
  SimFileSystem fs(4);
  const raft::HardState raft{Term{7}, NodeId{3}, LogIndex{42}};
  ASSERT_TRUE(save_hard_state(fs, "/raft", raft));
  EXPECT_EQ(**load_hard_state<raft::HardState>(fs, "/raft"), raft);
  EXPECT_FALSE(*load_hard_state<raft::HardState>(fs, "/absent"));
}

TEST(HardState, UndecodablePayloadIsCorruption) {
  SimFileSystem fs(5);
  ASSERT_TRUE(write_atomic(fs, "/raft", Bytes{0x80}));  // an overlong, unfinished varint
  EXPECT_EQ(load_hard_state<raft::HardState>(fs, "/raft").error().code(), ErrorCode::kCorruption);
}

}  // namespace
}  // namespace phalanx::storage
