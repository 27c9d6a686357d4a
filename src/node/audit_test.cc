#include "node/audit.h"

#include <gtest/gtest.h>

#include "consensus/raft/hard_state.h"
#include "sim/sim_file_system.h"
#include "storage/data_dir.h"
#include "storage/hard_state.h"
#include "storage/snapshot.h"
#include "storage/wal.h"

namespace phalanx::storage {
namespace {

using sim::SimFileSystem;

constexpr const char* kData = "/data";
const WalOptions kSmall{.segment_bytes_target = 300, .entry_bytes_max = 1024};

// A data directory as a replica leaves it: log 1..30, a snapshot at 20
// whose entry hash matches the log's, and Raft hard state.
void populate(FileSystem& fs, bool compact) {
  auto wal = std::move(*Wal::open(fs, wal_dir(kData), kSmall));
  for (int i = 1; i <= 30; ++i)
    ASSERT_TRUE(wal->append(1, Bytes(20, static_cast<std::uint8_t>(i))));
  ASSERT_TRUE(wal->sync());
  SnapshotMeta meta{LogIndex{20}, wal->read(LogIndex{20})->hash, to_bytes("n1")};
  auto w = std::move(*SnapshotWriter::create(fs, snapshot_dir(kData), meta, 64));
  ASSERT_TRUE(w->write_chunk(to_bytes("state")));
  ASSERT_TRUE(w->finish());
  if (compact) {
    ASSERT_TRUE(wal->compact_prefix(LogIndex{20}));
  }
  ASSERT_TRUE(save_hard_state(fs, raft_state_path(kData),
                              raft::HardState{Term{1}, NodeId{1}, LogIndex{20}}));
}

TEST(Audit, SoundDirectory) {
  SimFileSystem fs(1);
  populate(fs, true);
  Result<node::AuditReport> r = node::audit_data_dir(fs, kData);
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_TRUE(r->ok());
  EXPECT_TRUE(r->findings.empty());
  EXPECT_EQ(r->last_index, LogIndex{30});
  EXPECT_EQ(r->snapshot_index, LogIndex{20});
  EXPECT_EQ(r->hard_state_files.size(), 1u);
}

TEST(Audit, EveryFlippedByteOfAClosedSegmentIsFound) {
  SimFileSystem fs(2);
  populate(fs, false);
  const std::string seg = wal_dir(kData) + "/" + fs.list(wal_dir(kData))->front();
  const std::size_t size = fs.TEST_contents(seg).size();
  for (std::size_t offset = 0; offset < size; ++offset) {
    fs.flip_bit(seg, offset, static_cast<int>(offset % 8));
    Result<node::AuditReport> r = node::audit_data_dir(fs, kData);
    ASSERT_TRUE(r);
    EXPECT_FALSE(r->ok()) << "offset " << offset;
    fs.flip_bit(seg, offset, static_cast<int>(offset % 8));
  }
}

TEST(Audit, SnapshotThatDisagreesWithTheLogIsFound) {
  SimFileSystem fs(3);
  populate(fs, false);
  SnapshotMeta meta{LogIndex{25}, crypto::Hash32{}, {}};  // wrong hash for entry 25
  auto w = std::move(*SnapshotWriter::create(fs, snapshot_dir(kData), meta, 64));
  ASSERT_TRUE(w->write_chunk(to_bytes("state")));
  ASSERT_TRUE(w->finish());
  Result<node::AuditReport> r = node::audit_data_dir(fs, kData);
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->ok());
  EXPECT_NE(r->findings.at(0).problem.find("disagrees"), std::string::npos);
}

TEST(Audit, TornTailIsANoteNotAFailure) {
  SimFileSystem fs(4);
  populate(fs, false);
  const std::string seg = wal_dir(kData) + "/" + fs.list(wal_dir(kData))->back();
  Bytes bytes = fs.TEST_contents(seg);
  bytes.insert(bytes.end(), 30, 0xab);
  fs.TEST_put(seg, bytes);
  Result<node::AuditReport> r = node::audit_data_dir(fs, kData);
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->ok());
  ASSERT_EQ(r->findings.size(), 1u);
  EXPECT_FALSE(r->findings[0].fatal);
}

TEST(Audit, MissingDirectoryIsNotFound) {
  SimFileSystem fs(5);
  EXPECT_EQ(node::audit_data_dir(fs, "/nope").error().code(), ErrorCode::kNotFound);
}

}  // namespace
}  // namespace phalanx::storage
