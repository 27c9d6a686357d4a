#include "storage/snapshot.h"

#include <gtest/gtest.h>

#include "sim/sim_file_system.h"

namespace phalanx::storage {
namespace {

using sim::SimFileSystem;

SnapshotMeta meta_at(std::uint64_t index) {
  SnapshotMeta m;
  m.last_index = LogIndex{index};
  m.last_entry_hash[0] = static_cast<std::uint8_t>(index);
  m.protocol = to_bytes("n1,n2,n3");
  return m;
}

std::vector<Bytes> chunks_of(std::size_t n) {
  std::vector<Bytes> out;
  for (std::size_t i = 0; i < n; ++i) out.push_back(Bytes(100 + i, static_cast<std::uint8_t>(i)));
  return out;
}

SnapshotManifest write_snapshot(FileSystem& fs, std::uint64_t index,
                                const std::vector<Bytes>& chunks) {
  auto w = SnapshotWriter::create(fs, "/snap", meta_at(index), 4096);
  EXPECT_TRUE(w);
  for (const Bytes& c : chunks) EXPECT_TRUE((*w)->write_chunk(c));
  Result<SnapshotManifest> m = (*w)->finish();
  EXPECT_TRUE(m) << m.error().to_string();
  return *m;
}

std::vector<Bytes> read_all(FileSystem& fs, const std::string& path) {
  auto r = SnapshotReader::open(fs, path);
  EXPECT_TRUE(r) << r.error().to_string();
  std::vector<Bytes> out;
  while (true) {
    Result<std::optional<Bytes>> c = (*r)->next_chunk();
    EXPECT_TRUE(c) << c.error().to_string();
    if (!c || !*c) break;
    out.push_back(**c);
  }
  return out;
}

TEST(Snapshot, WriteReadRoundTrip) {
  SimFileSystem fs(1);
  const auto chunks = chunks_of(5);
  const SnapshotManifest m = write_snapshot(fs, 10, chunks);
  fs.power_cycle();
  const auto path = *latest_snapshot(fs, "/snap");
  ASSERT_TRUE(path);
  EXPECT_EQ(read_all(fs, *path), chunks);
  auto r = SnapshotReader::open(fs, *path);
  EXPECT_EQ((*r)->manifest().meta.last_index, LogIndex{10});
  EXPECT_EQ((*r)->manifest().meta.protocol, to_bytes("n1,n2,n3"));
  EXPECT_EQ((*r)->manifest().chunks.root, m.chunks.root);
  EXPECT_EQ((*r)->manifest().chunks.total_bytes, 5u * 100 + 10);
}

TEST(Snapshot, NewerSnapshotReplacesOlderOnlyWhenDurable) {
  SimFileSystem fs(2);
  write_snapshot(fs, 10, chunks_of(2));
  write_snapshot(fs, 20, chunks_of(3));
  EXPECT_EQ(*fs.list("/snap"), std::vector<std::string>{snapshot_file_name(LogIndex{20})});
}

TEST(Snapshot, InterruptedWriteNeverShowsAsASnapshot) {
  for (std::uint64_t step = 0; step < 14; ++step) {
    for (std::uint64_t seed = 0; seed < 10; ++seed) {
      SimFileSystem fs(seed);
      write_snapshot(fs, 10, chunks_of(2));
      fs.schedule_power_loss(step);
      bool finished = false;
      if (auto w = SnapshotWriter::create(fs, "/snap", meta_at(20), 4096)) {
        bool ok = true;
        for (const Bytes& c : chunks_of(3)) ok = ok && (*w)->write_chunk(c).has_value();
        finished = ok && (*w)->finish().has_value();
      }
      fs.power_cycle();
      Result<std::optional<std::string>> latest = latest_snapshot(fs, "/snap");
      ASSERT_TRUE(latest && *latest);
      auto r = SnapshotReader::open(fs, **latest);
      ASSERT_TRUE(r) << "step " << step << " seed " << seed << ": " << r.error().to_string();
      ASSERT_TRUE((*r)->verify_all());
      const std::uint64_t index = (*r)->manifest().meta.last_index.value();
      if (finished) {
        EXPECT_EQ(index, 20u);
      }
      EXPECT_TRUE(index == 10 || index == 20);
      const std::vector<std::string> names = *fs.list("/snap");
      for (const std::string& name : names) EXPECT_FALSE(name.ends_with(".tmp"));
    }
  }
}

TEST(Snapshot, AnyFlippedByteIsDetected) {
  SimFileSystem fs(3);
  write_snapshot(fs, 10, chunks_of(3));
  const std::string path = "/snap/" + snapshot_file_name(LogIndex{10});
  const std::size_t size = fs.TEST_contents(path).size();
  for (std::size_t offset = 0; offset < size; ++offset) {
    fs.flip_bit(path, offset, static_cast<int>(offset % 8));
    auto r = SnapshotReader::open(fs, path);
    const bool detected = !r || !(*r)->verify_all();
    EXPECT_TRUE(detected) << "offset " << offset;
    fs.flip_bit(path, offset, static_cast<int>(offset % 8));
  }
}

// A file of the first format (Raft's term and membership in the manifest)
// is refused as such, with both versions named, not misread.
TEST(Snapshot, AnOlderFormatVersionIsRefusedByName) {
  SimFileSystem fs(5);
  write_snapshot(fs, 10, chunks_of(2));
  const std::string path = "/snap/" + snapshot_file_name(LogIndex{10});
  Bytes image = fs.TEST_contents(path);
  image[8] = 1;  // the version field, little-endian
  fs.TEST_put(path, image);
  auto r = SnapshotReader::open(fs, path);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kCorruption);
  EXPECT_NE(r.error().message().find("format version 1; this build reads version 2"),
            std::string::npos)
      << r.error().message();
}

TEST(Snapshot, ReceivedSnapshotMustMatchTheExpectedRoot) {
  SimFileSystem fs(4);
  const SnapshotManifest good = write_snapshot(fs, 10, chunks_of(3));
  auto w = SnapshotWriter::create(fs, "/snap", meta_at(30), 4096);
  auto forged = chunks_of(3);
  forged[1][7] ^= 1;
  for (const Bytes& c : forged) ASSERT_TRUE((*w)->write_chunk(c));
  Result<SnapshotManifest> m = (*w)->finish(good.chunks.root);
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().code(), ErrorCode::kCorruption);
  EXPECT_EQ(**latest_snapshot(fs, "/snap"), "/snap/" + snapshot_file_name(LogIndex{10}));
}

TEST(Snapshot, ChunkLimitsAreEnforced) {
  SimFileSystem fs(5);
  auto w = SnapshotWriter::create(fs, "/snap", meta_at(1), 16);
  EXPECT_EQ((*w)->write_chunk(Bytes(17, 0)).error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ((*w)->write_chunk(Bytes{}).error().code(), ErrorCode::kInvalidArgument);
  EXPECT_FALSE(SnapshotWriter::create(fs, "/snap", meta_at(1), 0));
}

}  // namespace
}  // namespace phalanx::storage
