#include "storage/wal.h"

#include <gtest/gtest.h>

#include "sim/sim_file_system.h"
#include "storage/checksum.h"
#include "storage/wal_format.h"

namespace phalanx::storage {
namespace {

using sim::SimFileSystem;

constexpr const char* kDir = "/wal";

Bytes payload_for(std::uint64_t i, std::size_t size = 20) {
  Bytes b(size, static_cast<std::uint8_t>(i));
  b[0] = static_cast<std::uint8_t>(i >> 8);
  return b;
}

std::unique_ptr<Wal> open_wal(FileSystem& fs, WalOptions options = {}) {
  auto wal = Wal::open(fs, kDir, options);
  EXPECT_TRUE(wal) << wal.error().to_string();
  return std::move(*wal);
}

void append_synced(Wal& wal, std::uint64_t from, std::uint64_t to, std::uint64_t term = 1) {
  for (std::uint64_t i = from; i <= to; ++i) {
    ASSERT_EQ(wal.append(term, payload_for(i))->value(), i);
  }
  ASSERT_EQ(wal.sync()->value(), to);
}

void expect_entries(Wal& wal, std::uint64_t from, std::uint64_t to) {
  ASSERT_EQ(wal.first_index().value(), from);
  ASSERT_EQ(wal.last_index().value(), to);
  for (std::uint64_t i = from; i <= to; ++i) {
    Result<WalEntry> e = wal.read(LogIndex{i});
    ASSERT_TRUE(e) << e.error().to_string();
    EXPECT_EQ(e->payload, payload_for(i)) << i;
  }
}

std::vector<std::string> segments(SimFileSystem& fs) { return *fs.list(kDir); }

TEST(Wal, AppendSyncReadAndReopen) {
  SimFileSystem fs(1);
  crypto::Hash32 head;
  {
    auto wal = open_wal(fs);
    EXPECT_EQ(wal->last_index(), LogIndex{0});
    ASSERT_EQ(wal->append(1, payload_for(1))->value(), 1u);
    ASSERT_EQ(wal->append(2, payload_for(2))->value(), 2u);
    EXPECT_EQ(wal->durable_index(), LogIndex{0});
    EXPECT_EQ(wal->read(LogIndex{2})->payload, payload_for(2));  // staged reads work
    ASSERT_EQ(wal->sync()->value(), 2u);
    EXPECT_EQ(*wal->term_at(LogIndex{2}), 2u);
    head = wal->last_hash();
  }
  auto wal = open_wal(fs);
  expect_entries(*wal, 1, 2);
  EXPECT_EQ(wal->last_hash(), head);
  EXPECT_EQ(wal->durable_index(), LogIndex{2});
  EXPECT_EQ(wal->recovery().records, 2u);
  EXPECT_EQ(wal->recovery().torn_bytes_discarded, 0u);
}

TEST(Wal, HashChainLinksEntries) {
  SimFileSystem fs(1);
  auto wal = open_wal(fs);
  append_synced(*wal, 1, 3);
  const WalEntry e1 = *wal->read(LogIndex{1});
  const WalEntry e2 = *wal->read(LogIndex{2});
  EXPECT_EQ(e1.hash, entry_hash(crypto::Hash32{}, LogIndex{1}, 1, payload_for(1)));
  EXPECT_EQ(e2.hash, entry_hash(e1.hash, LogIndex{2}, 1, payload_for(2)));
}

TEST(Wal, RollsOverSegmentsAndRecoversAcrossThem) {
  SimFileSystem fs(2);
  const WalOptions small{.segment_bytes_target = 300, .entry_bytes_max = 1024};
  {
    auto wal = open_wal(fs, small);
    append_synced(*wal, 1, 10);
    append_synced(*wal, 11, 25);
  }
  EXPECT_GT(segments(fs).size(), 3u);
  auto wal = open_wal(fs, small);
  expect_entries(*wal, 1, 25);
  EXPECT_EQ(wal->recovery().segments, segments(fs).size());
}

TEST(Wal, RejectsOversizedEntry) {
  SimFileSystem fs(3);
  auto wal = open_wal(fs, {.entry_bytes_max = 16});
  Result<LogIndex> r = wal->append(1, Bytes(17, 0));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(wal->last_index(), LogIndex{0});
}

TEST(Wal, TruncateSuffixWithinAndAcrossSegmentsIsDurable) {
  SimFileSystem fs(4);
  const WalOptions small{.segment_bytes_target = 300, .entry_bytes_max = 1024};
  {
    auto wal = open_wal(fs, small);
    append_synced(*wal, 1, 20);
    ASSERT_TRUE(wal->truncate_suffix(LogIndex{14}));
    EXPECT_EQ(wal->last_index(), LogIndex{13});
    EXPECT_EQ(wal->last_hash(), wal->read(LogIndex{13})->hash);
    // New history in a new term after the cut.
    ASSERT_EQ(wal->append(2, payload_for(14))->value(), 14u);
    ASSERT_TRUE(wal->sync());
    ASSERT_TRUE(wal->truncate_suffix(LogIndex{3}));
  }
  fs.power_cycle();  // a truncation acknowledged is a truncation on disk
  auto wal = open_wal(fs, small);
  expect_entries(*wal, 1, 2);
  append_synced(*wal, 3, 5, 3);
  expect_entries(*wal, 1, 5);
}

// Found by the Raft simulation (seed 169, small segments): after a restart,
// closed segments are opened read-only; a truncation back into one made it
// the open segment, and the next append failed with "opened read-only".
TEST(Wal, TruncateIntoARecoveredClosedSegmentThenAppend) {
  SimFileSystem fs(6);
  const WalOptions small{.segment_bytes_target = 300, .entry_bytes_max = 1024};
  {
    auto wal = open_wal(fs, small);
    append_synced(*wal, 1, 20);
  }
  auto wal = open_wal(fs, small);
  ASSERT_GT(segments(fs).size(), 2u);
  ASSERT_TRUE(wal->truncate_suffix(LogIndex{3}));
  append_synced(*wal, 3, 6, 2);
  fs.power_cycle();
  auto reopened = open_wal(fs, small);
  expect_entries(*reopened, 1, 6);
}

// The same for a rollover cut short by a crash: recovery removes the new,
// headerless segment, and the closed one before it is the open one again.
TEST(Wal, AppendAfterAnInterruptedRollover) {
  SimFileSystem fs(7);
  const WalOptions small{.segment_bytes_target = 430, .entry_bytes_max = 1024};
  {
    auto wal = open_wal(fs, small);
    append_synced(*wal, 1, 21);  // 3 entries per segment: 19..21 is full
  }
  fs.TEST_put(std::string(kDir) + "/" + segment_file_name(LogIndex{22}), Bytes{0x50, 0x48});
  auto wal = open_wal(fs, small);
  EXPECT_TRUE(wal->recovery().removed_interrupted_segment);
  // An entry smaller than the one that did not fit still fits the segment.
  ASSERT_TRUE(wal->append(2, Bytes{7}));
  ASSERT_TRUE(wal->sync());
  fs.power_cycle();
  auto reopened = open_wal(fs, small);
  EXPECT_EQ(reopened->last_index(), LogIndex{22});
  EXPECT_EQ(reopened->read(LogIndex{22})->payload, Bytes{7});
}

TEST(Wal, TruncateOfStagedEntriesOnly) {
  SimFileSystem fs(5);
  auto wal = open_wal(fs);
  append_synced(*wal, 1, 3);
  ASSERT_TRUE(wal->append(1, payload_for(4)));
  ASSERT_TRUE(wal->append(1, payload_for(5)));
  ASSERT_TRUE(wal->truncate_suffix(LogIndex{5}));
  EXPECT_EQ(wal->last_index(), LogIndex{4});
  ASSERT_EQ(wal->sync()->value(), 4u);
  EXPECT_FALSE(wal->truncate_suffix(LogIndex{6}));
  EXPECT_EQ(wal->truncate_suffix(LogIndex{0}).error().code(), ErrorCode::kInvalidArgument);
}

TEST(Wal, CompactPrefixRemovesWholeSegmentsOnly) {
  SimFileSystem fs(6);
  const WalOptions small{.segment_bytes_target = 300, .entry_bytes_max = 1024};
  std::uint64_t first_after = 0;
  {
    auto wal = open_wal(fs, small);
    append_synced(*wal, 1, 30);
    const std::size_t before = segments(fs).size();
    ASSERT_TRUE(wal->compact_prefix(LogIndex{12}));
    EXPECT_LT(segments(fs).size(), before);
    first_after = wal->first_index().value();
    EXPECT_LE(first_after, 13u);
    EXPECT_GT(first_after, 1u);
    EXPECT_EQ(wal->read(LogIndex{1}).error().code(), ErrorCode::kNotFound);
  }
  auto wal = open_wal(fs, small);
  expect_entries(*wal, first_after, 30);
}

TEST(Wal, ResetStartsAfterASnapshot) {
  SimFileSystem fs(7);
  crypto::Hash32 anchor;
  anchor[0] = 0xaa;
  {
    auto wal = open_wal(fs);
    append_synced(*wal, 1, 5);
    ASSERT_TRUE(wal->reset(LogIndex{100}, anchor));
    ASSERT_EQ(wal->append(4, payload_for(100))->value(), 100u);
    ASSERT_TRUE(wal->sync());
  }
  auto wal = open_wal(fs);
  EXPECT_EQ(wal->first_index(), LogIndex{100});
  EXPECT_EQ(wal->read(LogIndex{100})->hash, entry_hash(anchor, LogIndex{100}, 4, payload_for(100)));
}

// ---- Recovery: torn tails versus corruption ----

std::string only_segment(SimFileSystem& fs) {
  const auto names = segments(fs);
  EXPECT_EQ(names.size(), 1u);
  return std::string(kDir) + "/" + names.at(0);
}

TEST(Wal, TornTailIsTruncatedAndReported) {
  SimFileSystem fs(8);
  {
    auto wal = open_wal(fs);
    append_synced(*wal, 1, 5);
  }
  const std::string path = only_segment(fs);
  Bytes bytes = fs.TEST_contents(path);
  const std::size_t good = bytes.size();
  // A sixth record, cut off mid-payload as a power loss would.
  Bytes sixth;
  encode_record(sixth, LogIndex{6}, 1, 5, crypto::Hash32{}, payload_for(6));
  bytes.insert(bytes.end(), sixth.begin(), sixth.begin() + 40);
  fs.TEST_put(path, bytes);

  auto wal = open_wal(fs);
  expect_entries(*wal, 1, 5);
  EXPECT_EQ(wal->recovery().torn_bytes_discarded, 40u);
  EXPECT_EQ(fs.TEST_contents(path).size(), good);
  append_synced(*wal, 6, 7);  // and the log goes on
}

TEST(Wal, FlippedByteInClosedSegmentIsCorruption) {
  SimFileSystem fs(9);
  const WalOptions small{.segment_bytes_target = 300, .entry_bytes_max = 1024};
  {
    auto wal = open_wal(fs, small);
    append_synced(*wal, 1, 20);
  }
  const std::string first = std::string(kDir) + "/" + segments(fs).front();
  fs.flip_bit(first, kSegmentHeaderBytes + kRecordHeaderBytes + 20 + 70, 3);
  Result<std::unique_ptr<Wal>> wal = Wal::open(fs, kDir, small);
  ASSERT_FALSE(wal);
  EXPECT_EQ(wal.error().code(), ErrorCode::kCorruption);
  EXPECT_NE(wal.error().message().find(first), std::string::npos) << wal.error().message();
  EXPECT_NE(wal.error().message().find("offset 152"), std::string::npos) << wal.error().message();
}

TEST(Wal, BadRecordFollowedByLaterDurableRecordIsCorruption) {
  // Flip a bit of record 3's length field, then of its payload. Records 4-6
  // were written after 3 was durable, so this cannot be a torn write.
  const std::size_t record3 = kSegmentHeaderBytes + 2 * (kRecordHeaderBytes + 20);
  for (const std::size_t offset : {record3 + 9, record3 + kRecordHeaderBytes + 4}) {
    SimFileSystem fs(10);
    {
      auto wal = open_wal(fs);
      append_synced(*wal, 1, 3);
      append_synced(*wal, 4, 6);
    }
    fs.flip_bit(only_segment(fs), offset, 0);
    Result<std::unique_ptr<Wal>> wal = Wal::open(fs, kDir, {});
    ASSERT_FALSE(wal) << offset;
    EXPECT_EQ(wal.error().code(), ErrorCode::kCorruption);
    EXPECT_NE(wal.error().message().find("offset " + std::to_string(record3)), std::string::npos)
        << wal.error().message();
  }
}

TEST(Wal, EditedEntryWithFixedChecksumBreaksTheHashChain) {
  SimFileSystem fs(11);
  {
    auto wal = open_wal(fs);
    append_synced(*wal, 1, 4);
  }
  const std::string path = only_segment(fs);
  Bytes bytes = fs.TEST_contents(path);
  const std::size_t rec2 = kSegmentHeaderBytes + kRecordHeaderBytes + 20;
  bytes[rec2 + kRecordHeaderBytes + 5] ^= 0xff;  // the attacker edits entry 2's payload...
  const std::size_t rec_len = kRecordHeaderBytes + 20;
  put_le(bytes.data() + rec2, checksum64(ByteView(bytes).subspan(rec2 + 8, rec_len - 8)), 8);
  fs.TEST_put(path, bytes);  // ...and fixes its checksum
  Result<std::unique_ptr<Wal>> wal = Wal::open(fs, kDir, {});
  ASSERT_FALSE(wal);
  EXPECT_EQ(wal.error().code(), ErrorCode::kCorruption);
  EXPECT_NE(wal.error().message().find("hash chain"), std::string::npos) << wal.error().message();
}

TEST(Wal, MissingMiddleSegmentIsAGap) {
  SimFileSystem fs(12);
  const WalOptions small{.segment_bytes_target = 300, .entry_bytes_max = 1024};
  {
    auto wal = open_wal(fs, small);
    append_synced(*wal, 1, 20);
  }
  const auto names = segments(fs);
  ASSERT_GE(names.size(), 3u);
  ASSERT_TRUE(fs.remove(std::string(kDir) + "/" + names[1]));
  Result<std::unique_ptr<Wal>> wal = Wal::open(fs, kDir, small);
  ASSERT_FALSE(wal);
  EXPECT_NE(wal.error().message().find("gap"), std::string::npos);
}

TEST(Wal, BitFlipAfterOpenIsCaughtOnRead) {
  SimFileSystem fs(13);
  auto wal = open_wal(fs);
  append_synced(*wal, 1, 3);
  fs.flip_bit(only_segment(fs), kSegmentHeaderBytes + kRecordHeaderBytes + 3, 1);
  Result<WalEntry> e = wal->read(LogIndex{1});
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().code(), ErrorCode::kCorruption);
}

// read_range reads a segment at once but hands out exactly what read() does:
// across segments, with staged entries at the end, and any sub-range.
TEST(Wal, ReadRangeGivesWhatReadGivesAcrossSegmentsAndStagedEntries) {
  SimFileSystem fs(21);
  const WalOptions small{.segment_bytes_target = 300, .entry_bytes_max = 1024};
  auto wal = open_wal(fs, small);
  append_synced(*wal, 1, 25);
  ASSERT_TRUE(wal->append(1, payload_for(26)));  // staged, not durable
  for (const auto& [from, through] : std::vector<std::pair<std::uint64_t, std::uint64_t>>{
           {1, 26}, {1, 1}, {7, 19}, {25, 26}, {26, 26}, {3, 2}}) {
    std::vector<std::uint64_t> seen;
    const Status s =
        wal->read_range(LogIndex{from}, LogIndex{through}, [&](WalEntry&& e) -> Status {
          Result<WalEntry> one = wal->read(e.index);
          EXPECT_TRUE(one);
          EXPECT_EQ(e.payload, one->payload);
          EXPECT_EQ(e.hash, one->hash);
          EXPECT_EQ(e.term, one->term);
          seen.push_back(e.index.value());
          return {};
        });
    ASSERT_TRUE(s) << s.error().to_string();
    ASSERT_EQ(seen.size(), through >= from ? through - from + 1 : 0) << from << ".." << through;
    if (!seen.empty()) {
      EXPECT_EQ(seen.front(), from);
    }
  }
  EXPECT_EQ(wal->read_range(LogIndex{1}, LogIndex{27}, [](WalEntry&&) -> Status { return {}; })
                .error()
                .code(),
            ErrorCode::kNotFound);
  // The visitor's error stops the scan and comes back.
  int visited = 0;
  const Status stopped = wal->read_range(LogIndex{1}, LogIndex{26}, [&](WalEntry&&) -> Status {
    if (++visited == 3) return fail(ErrorCode::kCorruption, "stop");
    return {};
  });
  EXPECT_EQ(stopped.error().code(), ErrorCode::kCorruption);
  EXPECT_EQ(visited, 3);
}

TEST(Wal, ReadRangeCatchesABitFlipAfterOpen) {
  SimFileSystem fs(22);
  auto wal = open_wal(fs);
  append_synced(*wal, 1, 3);
  fs.flip_bit(only_segment(fs), kSegmentHeaderBytes + kRecordHeaderBytes + 3, 1);
  const Status s =
      wal->read_range(LogIndex{1}, LogIndex{3}, [](WalEntry&&) -> Status { return {}; });
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code(), ErrorCode::kCorruption);
}

// ---- Disk full and I/O errors ----

TEST(Wal, DiskFullLeavesNoPartialRecordAndRecoversWhenSpaceReturns) {
  SimFileSystem fs(14);
  auto wal = open_wal(fs);
  append_synced(*wal, 1, 5);
  const std::string path = only_segment(fs);
  const std::size_t durable_size = fs.TEST_contents(path).size();
  fs.set_faults({.capacity_bytes = durable_size + 50});
  for (std::uint64_t i = 6; i <= 8; ++i) ASSERT_TRUE(wal->append(1, payload_for(i)));
  Result<LogIndex> s = wal->sync();
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code(), ErrorCode::kNoSpace);
  EXPECT_EQ(fs.TEST_contents(path).size(), durable_size) << "no partial record visible";
  EXPECT_EQ(wal->durable_index(), LogIndex{5});
  EXPECT_EQ(wal->last_index(), LogIndex{8}) << "staged entries stay staged";

  fs.set_faults({});
  ASSERT_EQ(wal->sync()->value(), 8u);
  expect_entries(*wal, 1, 8);
}

// Found by storage_fuzz: a segment (checksums and hashes all valid) whose
// first record sits at the last index a counter can hold stopped the scan on
// an overflow assertion. No log reaches that index: the record is refused.
TEST(Wal, ARecordAtTheLastPossibleIndexIsRefusedNotAsserted) {
  const LogIndex last{UINT64_MAX};
  Bytes bytes = encode_segment_header({last, crypto::Hash32{}});
  const Bytes payload = to_bytes("x");
  encode_record(bytes, last, 1, 0, entry_hash(crypto::Hash32{}, last, 1, payload), payload);
  const SegmentScan scan = scan_segment(bytes, {});
  EXPECT_EQ(scan.problem, ScanProblem::kRecordWrongIndex);
  EXPECT_TRUE(scan.records.empty());
}

TEST(Wal, DiskFullDuringRolloverRetries) {
  SimFileSystem fs(15);
  const WalOptions small{.segment_bytes_target = 300, .entry_bytes_max = 1024};
  auto wal = open_wal(fs, small);
  append_synced(*wal, 1, 3);
  std::uint64_t used = 0;
  for (const auto& n : segments(fs)) used += fs.TEST_contents(std::string(kDir) + "/" + n).size();
  fs.set_faults({.capacity_bytes = used + 40});  // too small for a new segment header
  for (std::uint64_t i = 4; i <= 6; ++i) ASSERT_TRUE(wal->append(1, payload_for(i)));
  Result<LogIndex> s = wal->sync();
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code(), ErrorCode::kNoSpace);
  fs.set_faults({});
  ASSERT_EQ(wal->sync()->value(), 6u);
  fs.power_cycle();
  auto reopened = open_wal(fs, small);
  expect_entries(*reopened, 1, 6);
}

TEST(Wal, FailedSyncPoisonsTheLogUntilReopened) {
  SimFileSystem fs(16);
  auto wal = open_wal(fs);
  append_synced(*wal, 1, 3);
  ASSERT_TRUE(wal->append(1, payload_for(4)));
  fs.set_faults({.sync_eio_one_in = 1});
  Result<LogIndex> s = wal->sync();
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code(), ErrorCode::kIo);
  fs.set_faults({});
  EXPECT_EQ(wal->append(1, payload_for(5)).error().code(), ErrorCode::kIo);
  EXPECT_FALSE(wal->sync());
  wal.reset();
  fs.power_cycle();
  auto reopened = open_wal(fs);
  ASSERT_GE(reopened->last_index().value(), 3u);
  expect_entries(*reopened, 1, reopened->last_index().value());
}

// ---- Background sync: write_staged() / WalFlush::run() / flushed() ----

TEST(Wal, BackgroundFlushCountsOnlyOnceReported) {
  SimFileSystem fs(17);
  auto wal = open_wal(fs);
  append_synced(*wal, 1, 2);
  for (std::uint64_t i = 3; i <= 5; ++i) ASSERT_TRUE(wal->append(1, payload_for(i)));
  Result<std::optional<WalFlush>> flush = wal->write_staged();
  ASSERT_TRUE(flush && *flush);
  EXPECT_EQ((*flush)->through, LogIndex{5});
  EXPECT_EQ(wal->durable_index(), LogIndex{2});  // written, not yet durable
  ASSERT_TRUE(wal->append(1, payload_for(6)));   // appends go on meanwhile
  expect_entries(*wal, 1, 6);
  const Status ran = (*flush)->run();
  ASSERT_TRUE(ran);
  EXPECT_EQ(wal->durable_index(), LogIndex{2});  // still: nothing reported
  EXPECT_EQ(wal->flushed(**flush, ran)->value(), 5u);
  Result<std::optional<WalFlush>> next = wal->write_staged();
  ASSERT_TRUE(next && *next);
  EXPECT_EQ((*next)->through, LogIndex{6});
  ASSERT_TRUE(wal->flushed(**next, (*next)->run()));
  EXPECT_FALSE(*wal->write_staged());  // everything written is durable
  ASSERT_TRUE(wal->append(1, payload_for(7)));
  ASSERT_TRUE(*wal->write_staged());
  wal.reset();
  fs.power_cycle();  // entry 7 was never synced: it may be lost, 1..6 may not
  auto reopened = open_wal(fs);
  ASSERT_GE(reopened->last_index().value(), 6u);
  expect_entries(*reopened, 1, reopened->last_index().value());
}

TEST(Wal, AFlushOvertakenByATruncationClaimsNothing) {
  SimFileSystem fs(18);
  auto wal = open_wal(fs);
  append_synced(*wal, 1, 5);
  for (std::uint64_t i = 6; i <= 8; ++i) ASSERT_TRUE(wal->append(1, payload_for(i)));
  const std::optional<WalFlush> flush = *wal->write_staged();
  ASSERT_TRUE(flush);
  // A new leader's entries replace 7 and 8 while the flush is on the disk thread.
  ASSERT_TRUE(wal->truncate_suffix(LogIndex{7}));
  EXPECT_EQ(wal->durable_index(), LogIndex{6});  // the cut made 6 durable
  ASSERT_TRUE(wal->append(2, payload_for(7)));
  const std::optional<WalFlush> replacement = *wal->write_staged();
  ASSERT_TRUE(replacement);
  // The old flush covered the old entry 7, not the new one.
  EXPECT_EQ(wal->flushed(*flush, flush->run())->value(), 6u);
  EXPECT_EQ(wal->flushed(*replacement, replacement->run())->value(), 7u);
  EXPECT_EQ(*wal->term_at(LogIndex{7}), 2u);
}

TEST(Wal, AFlushOvertakenByAResetClaimsNothing) {
  SimFileSystem fs(19);
  auto wal = open_wal(fs);
  append_synced(*wal, 1, 3);
  ASSERT_TRUE(wal->append(1, payload_for(4)));
  const std::optional<WalFlush> flush = *wal->write_staged();
  ASSERT_TRUE(flush);
  ASSERT_TRUE(wal->reset(LogIndex{11}, crypto::Hash32{}));  // a snapshot was installed
  EXPECT_EQ(wal->flushed(*flush, flush->run())->value(), 10u);
  EXPECT_EQ(wal->last_index(), LogIndex{10});
}

TEST(Wal, AFailedBackgroundFlushPoisonsTheLog) {
  SimFileSystem fs(20);
  auto wal = open_wal(fs);
  append_synced(*wal, 1, 2);
  ASSERT_TRUE(wal->append(1, payload_for(3)));
  const std::optional<WalFlush> flush = *wal->write_staged();
  ASSERT_TRUE(flush);
  fs.set_faults({.sync_eio_one_in = 1});
  const Status ran = flush->run();
  ASSERT_FALSE(ran);
  fs.set_faults({});
  Result<LogIndex> reported = wal->flushed(*flush, ran);
  ASSERT_FALSE(reported);
  EXPECT_EQ(reported.error().code(), ErrorCode::kIo);
  EXPECT_EQ(wal->durable_index(), LogIndex{2});
  EXPECT_EQ(wal->append(1, payload_for(4)).error().code(), ErrorCode::kIo);
}

TEST(Wal, OnlyTheOpenSegmentWaitsForABackgroundFlush) {
  SimFileSystem fs(21);
  const WalOptions small{.segment_bytes_target = 300, .entry_bytes_max = 1024};
  auto wal = open_wal(fs, small);
  for (std::uint64_t i = 1; i <= 25; ++i) ASSERT_TRUE(wal->append(1, payload_for(i)));
  const std::optional<WalFlush> flush = *wal->write_staged();
  ASSERT_TRUE(flush);
  EXPECT_EQ(flush->through, LogIndex{25});
  EXPECT_EQ(flush->segment_first.value(), wal->durable_index().value() + 1);
  EXPECT_GT(wal->durable_index().value(), 10u);  // the full segments were synced and closed
  const LogIndex durable = wal->durable_index();
  wal.reset();
  fs.power_cycle();  // the flush never ran: only the open segment may lose entries
  auto reopened = open_wal(fs, small);
  EXPECT_GE(reopened->last_index(), durable);
  expect_entries(*reopened, 1, reopened->last_index().value());
}

}  // namespace
}  // namespace phalanx::storage
