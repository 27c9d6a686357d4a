#include "node/parallel.h"

#include <gtest/gtest.h>

#include <atomic>

#include "storage/checksum.h"

namespace phalanx::node {
namespace {

using storage::ScanProblem;
using storage::SegmentScan;

constexpr std::size_t kRecords = 30'000;
constexpr std::size_t kPayloadBytes = 24;
constexpr std::size_t kRecordBytes = storage::kRecordHeaderBytes + kPayloadBytes;

Bytes payload_for(std::size_t i) { return Bytes(kPayloadBytes, static_cast<std::uint8_t>(i * 7)); }

// A segment of kRecords chained records starting at index 1.
Bytes segment() {
  Bytes bytes = storage::encode_segment_header({LogIndex{1}, crypto::Hash32{}});
  crypto::Hash32 prev;
  for (std::size_t i = 1; i <= kRecords; ++i) {
    const Bytes payload = payload_for(i);
    prev = storage::entry_hash(prev, LogIndex{i}, 1, payload);
    storage::encode_record(bytes, LogIndex{i}, 1, i, prev, payload);
  }
  return bytes;
}

std::size_t offset_of(std::size_t index) {
  return storage::kSegmentHeaderBytes + (index - 1) * kRecordBytes;
}

// What an attacker with the disk does: edit an entry's payload and fix its checksum.
void edit_entry(Bytes& bytes, std::size_t index) {
  const std::size_t at = offset_of(index);
  bytes[at + storage::kRecordHeaderBytes + 3] ^= 0x5a;
  storage::put_le(bytes.data() + at,
                  storage::checksum64(ByteView(bytes).subspan(at + 8, kRecordBytes - 8)), 8);
}

SegmentScan scan(const Bytes& bytes, const storage::ParallelFor* parallel) {
  storage::ScanExpectation expect;
  expect.first_index = LogIndex{1};
  expect.parallel = parallel;
  return storage::scan_segment(bytes, expect);
}

// The scan on `threads` threads, checked to say what the sequential scan says.
SegmentScan scan_on(const Bytes& bytes, unsigned threads) {
  const storage::ParallelFor run = thread_parallel_for(threads);
  const SegmentScan a = scan(bytes, &run);
  const SegmentScan b = scan(bytes, nullptr);
  EXPECT_EQ(a.problem, b.problem);
  EXPECT_EQ(a.problem_offset, b.problem_offset);
  EXPECT_EQ(a.valid_end, b.valid_end);
  EXPECT_EQ(a.records.size(), b.records.size());
  EXPECT_EQ(a.later_valid_records, b.later_valid_records);
  return a;
}

TEST(ThreadParallelFor, RunsEveryPartExactlyOnce) {
  const storage::ParallelFor run = thread_parallel_for(4);
  std::vector<std::atomic<int>> ran(100);
  run(ran.size(), [&](std::size_t part) { ++ran[part]; });
  for (const std::atomic<int>& r : ran) EXPECT_EQ(r.load(), 1);
  run(0, [](std::size_t) { ADD_FAILURE() << "no part to run"; });
  std::size_t alone = 0;
  thread_parallel_for(1)(3, [&](std::size_t) { ++alone; });  // the caller's thread only
  EXPECT_EQ(alone, 3u);
}

TEST(ParallelScan, ACleanSegmentScansAsItDoesOnOneThread) {
  const Bytes bytes = segment();
  const SegmentScan parallel = scan_on(bytes, 3);
  EXPECT_EQ(parallel.problem, ScanProblem::kNone);
  EXPECT_EQ(parallel.records.size(), kRecords);
  EXPECT_EQ(parallel.valid_end, bytes.size());
}

TEST(ParallelScan, AnEditedEntryEndsTheScanThereWhicheverPartFindsIt) {
  Bytes bytes = segment();
  edit_entry(bytes, 20'000);
  const SegmentScan parallel = scan_on(bytes, 3);
  EXPECT_EQ(parallel.problem, ScanProblem::kRecordBadHash);
  EXPECT_EQ(parallel.problem_offset, offset_of(20'000));
  EXPECT_EQ(parallel.records.size(), 19'999u);
  EXPECT_EQ(parallel.valid_end, offset_of(20'000));
  EXPECT_EQ(parallel.later_valid_records, kRecords - 20'000);  // checksums hold after it
}

TEST(ParallelScan, TheFirstBrokenLinkIsReportedNotTheFirstPartToFinish) {
  Bytes bytes = segment();
  edit_entry(bytes, 25'000);
  edit_entry(bytes, 5'000);
  const SegmentScan parallel = scan_on(bytes, 4);
  EXPECT_EQ(parallel.problem, ScanProblem::kRecordBadHash);
  EXPECT_EQ(parallel.problem_offset, offset_of(5'000));
}

TEST(ParallelScan, ABrokenLinkBeforeABadChecksumIsTheProblem) {
  Bytes bytes = segment();
  bytes[offset_of(28'000) + storage::kRecordHeaderBytes] ^= 1;  // checksum no longer holds
  edit_entry(bytes, 10'000);
  const SegmentScan parallel = scan_on(bytes, 2);
  EXPECT_EQ(parallel.problem, ScanProblem::kRecordBadHash);
  EXPECT_EQ(parallel.problem_offset, offset_of(10'000));
  // Without the edit the bad checksum is what ends the scan.
  Bytes torn = segment();
  torn[offset_of(28'000) + storage::kRecordHeaderBytes] ^= 1;
  const SegmentScan tail = scan_on(torn, 2);
  EXPECT_EQ(tail.problem, ScanProblem::kRecordBadChecksum);
  EXPECT_EQ(tail.records.size(), 27'999u);
}

}  // namespace
}  // namespace phalanx::node
