#include "sim/sim_file_system.h"

#include <gtest/gtest.h>

#include <set>

namespace phalanx::sim {
namespace {

using storage::File;
using storage::OpenMode;

std::unique_ptr<File> create(SimFileSystem& fs, const std::string& path) {
  auto f = fs.open(path, OpenMode::kCreate);
  EXPECT_TRUE(f) << f.error().to_string();
  return std::move(*f);
}

TEST(SimFileSystem, SyncedDataAndNamesSurvivePowerLoss) {
  SimFileSystem fs(1);
  ASSERT_TRUE(fs.create_dir("/d"));
  ASSERT_TRUE(fs.sync_dir("/"));
  auto f = create(fs, "/d/a");
  ASSERT_TRUE(f->write_at(0, to_bytes("hello")));
  ASSERT_TRUE(f->sync());
  ASSERT_TRUE(fs.sync_dir("/d"));
  fs.power_cycle();
  EXPECT_EQ(fs.TEST_contents("/d/a"), to_bytes("hello"));
}

TEST(SimFileSystem, UnsyncedWriteIsKeptLostOrTornAcrossSeeds) {
  std::set<std::size_t> sizes_seen;
  for (std::uint64_t seed = 0; seed < 200; ++seed) {
    SimFileSystem fs(seed);
    auto f = create(fs, "/a");
    ASSERT_TRUE(fs.sync_dir("/"));
    ASSERT_TRUE(f->sync());
    ASSERT_TRUE(f->write_at(0, to_bytes("0123456789")));
    fs.power_cycle();
    const Bytes& got = fs.TEST_contents("/a");
    const Bytes all = to_bytes("0123456789");
    ASSERT_LE(got.size(), all.size());
    EXPECT_EQ(got, Bytes(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(got.size())));
    sizes_seen.insert(got.size());
  }
  EXPECT_TRUE(sizes_seen.contains(0));   // lost
  EXPECT_TRUE(sizes_seen.contains(10));  // kept
  EXPECT_GT(sizes_seen.size(), 3u);      // torn at various bytes
}

TEST(SimFileSystem, LaterWriteCanSurviveALostEarlierOne) {
  bool hole_seen = false;
  for (std::uint64_t seed = 0; seed < 200 && !hole_seen; ++seed) {
    SimFileSystem fs(seed);
    auto f = create(fs, "/a");
    ASSERT_TRUE(fs.sync_dir("/"));
    ASSERT_TRUE(f->write_at(0, to_bytes("AAAA")));
    ASSERT_TRUE(f->write_at(4, to_bytes("BBBB")));
    fs.power_cycle();
    hole_seen = fs.TEST_contents("/a") == (Bytes{0, 0, 0, 0, 'B', 'B', 'B', 'B'});
  }
  EXPECT_TRUE(hole_seen);
}

TEST(SimFileSystem, RenameWithoutDirectorySyncMayBeUndone) {
  std::set<bool> renamed;
  for (std::uint64_t seed = 0; seed < 50; ++seed) {
    SimFileSystem fs(seed);
    auto f = create(fs, "/tmp1");
    ASSERT_TRUE(f->write_at(0, to_bytes("x")));
    ASSERT_TRUE(f->sync());
    ASSERT_TRUE(fs.sync_dir("/"));
    ASSERT_TRUE(fs.rename("/tmp1", "/final"));
    fs.power_cycle();
    renamed.insert(*fs.exists("/final"));
    EXPECT_NE(*fs.exists("/final"), *fs.exists("/tmp1"));  // exactly one name
  }
  EXPECT_EQ(renamed.size(), 2u);
}

TEST(SimFileSystem, CreatedFileWithoutDirectorySyncMayVanish) {
  std::set<bool> present;
  for (std::uint64_t seed = 0; seed < 50; ++seed) {
    SimFileSystem fs(seed);
    auto f = create(fs, "/a");
    ASSERT_TRUE(f->sync());
    fs.power_cycle();
    present.insert(*fs.exists("/a"));
  }
  EXPECT_EQ(present.size(), 2u);
}

TEST(SimFileSystem, ScheduledPowerLossFailsThatCallAndAllLater) {
  SimFileSystem fs(3);
  auto f = create(fs, "/a");  // op 1
  fs.schedule_power_loss(1);
  EXPECT_TRUE(f->write_at(0, to_bytes("a")));  // op 2: allowed
  Status s = f->write_at(1, to_bytes("b"));    // op 3: power lost
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code(), ErrorCode::kIo);
  EXPECT_TRUE(fs.powered_off());
  EXPECT_FALSE(f->sync());
  EXPECT_FALSE(fs.list("/"));
  fs.power_cycle();
  EXPECT_FALSE(fs.powered_off());
  EXPECT_FALSE(f->size()) << "handles from before the power loss are stale";
}

TEST(SimFileSystem, DiskFullLandsOnlyWhatFits) {
  SimFileSystem fs(4);
  fs.set_faults({.capacity_bytes = 6});
  auto f = create(fs, "/a");
  Status s = f->write_at(0, to_bytes("0123456789"));
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code(), ErrorCode::kNoSpace);
  EXPECT_EQ(fs.TEST_contents("/a"), to_bytes("012345"));
  EXPECT_EQ(*fs.free_bytes("/"), 0u);
  ASSERT_TRUE(f->truncate(2));
  EXPECT_EQ(*fs.free_bytes("/"), 4u);
}

TEST(SimFileSystem, FailedSyncForgetsPendingWrites) {
  // After a failed fsync a second fsync "succeeds" without persisting the data.
  bool lost_despite_second_sync = false;
  for (std::uint64_t seed = 0; seed < 100 && !lost_despite_second_sync; ++seed) {
    SimFileSystem fs(seed);
    auto f = create(fs, "/a");
    ASSERT_TRUE(fs.sync_dir("/"));
    ASSERT_TRUE(f->write_at(0, to_bytes("data")));
    fs.set_faults({.sync_eio_one_in = 1});
    ASSERT_FALSE(f->sync());
    fs.set_faults({});
    ASSERT_TRUE(f->sync());
    EXPECT_EQ(fs.TEST_contents("/a"), to_bytes("data"));  // still visible
    fs.power_cycle();
    lost_despite_second_sync = fs.TEST_contents("/a") != to_bytes("data");
  }
  EXPECT_TRUE(lost_despite_second_sync);
}

TEST(SimFileSystem, SameSeedSameOutcome) {
  auto run = [](std::uint64_t seed) {
    SimFileSystem fs(seed);
    auto f = create(fs, "/a");
    for (int i = 0; i < 20; ++i) EXPECT_TRUE(f->write_at(i * 3, to_bytes("abc")));
    fs.power_cycle();
    return *fs.exists("/a") ? fs.TEST_contents("/a") : Bytes{};
  };
  EXPECT_EQ(run(77), run(77));
}

TEST(SimFileSystem, ListAndMissingPaths) {
  SimFileSystem fs(5);
  ASSERT_TRUE(fs.create_dir("/d"));
  create(fs, "/d/b");
  create(fs, "/d/a");
  ASSERT_TRUE(fs.create_dir("/d/sub"));
  EXPECT_EQ(*fs.list("/d"), (std::vector<std::string>{"a", "b", "sub"}));
  EXPECT_EQ(fs.open("/d/zz", OpenMode::kRead).error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(fs.open("/nodir/x", OpenMode::kCreate).error().code(), ErrorCode::kNotFound);
  EXPECT_FALSE(fs.open("/d/a", OpenMode::kCreateNew));
}

}  // namespace
}  // namespace phalanx::sim
