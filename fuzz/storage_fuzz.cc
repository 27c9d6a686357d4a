// libFuzzer target: the readers of on-disk formats (log segments, snapshot
// files, atomic files and hard state) must never crash, read out of bounds or
// accept what fails their own checks.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "sim/sim_file_system.h"
#include "storage/atomic_file.h"
#include "storage/checksum.h"
#include "storage/hard_state.h"
#include "storage/snapshot.h"
#include "storage/wal_format.h"

namespace {

using namespace phalanx;

void check(bool condition) {
  if (!condition) std::abort();
}

void fuzz_segment(ByteView input) {
  const storage::SegmentScan scan = storage::scan_segment(input, {});
  check(scan.valid_end <= input.size());
  if (!scan.header) {
    check(scan.records.empty());
    return;
  }
  // Every record reported valid chains to the one before it.
  crypto::Hash32 prev = scan.header->prev_hash;
  LogIndex next = scan.header->first_index;
  for (const storage::ScannedRecord& r : scan.records) {
    check(r.index == next);
    const ByteView payload = input.subspan(r.offset + storage::kRecordHeaderBytes, r.payload_bytes);
    check(storage::entry_hash(prev, r.index, r.term, payload) == r.hash);
    prev = r.hash;
    next = LogIndex{next.value() + 1};
  }
  (void)storage::classify_scan(scan, true);
  (void)storage::classify_scan(scan, false);
}

void fuzz_snapshot(ByteView input) {
  sim::SimFileSystem fs(0);
  fs.TEST_put("/s.snap", input);
  auto reader = storage::SnapshotReader::open(fs, "/s.snap");
  if (!reader) return;
  std::uint64_t total = 0;
  while (true) {
    Result<std::optional<Bytes>> chunk = (*reader)->next_chunk();
    if (!chunk || !*chunk) break;
    total += (*chunk)->size();
  }
  check(total <= (*reader)->manifest().total_bytes);
}

void fuzz_atomic(ByteView input) {
  Result<Bytes> payload = storage::decode_atomic_image(input, "/f");
  if (!payload) return;
  check(payload->size() + 20 == input.size());
  (void)codec::decode<storage::RaftHardState>(*payload);
  (void)codec::decode<storage::BftSafetyState>(*payload);
}

// Structure-aware: make the header and every record checksum valid, so the
// fuzzer explores index, hash-chain, resync and classification logic that
// random bytes never reach past a checksum.
void fuzz_segment_with_valid_checksums(ByteView input) {
  Bytes bytes(input.begin(), input.end());
  if (bytes.size() >= storage::kSegmentHeaderBytes) {
    const Bytes header =
        storage::encode_segment_header({LogIndex{storage::get_le(bytes.data() + 16, 8)},
                                        *crypto::Hash32::from(ByteView(bytes).subspan(24, 32))});
    std::copy(header.begin(), header.end(), bytes.begin());
    std::size_t pos = storage::kSegmentHeaderBytes;
    while (bytes.size() - pos >= storage::kRecordHeaderBytes) {
      const std::uint64_t length = storage::get_le(bytes.data() + pos + 8, 4) % 256;
      storage::put_le(bytes.data() + pos + 8, length, 4);
      if (bytes.size() - pos - storage::kRecordHeaderBytes < length) break;
      const ByteView covered =
          ByteView(bytes).subspan(pos + 8, storage::kRecordHeaderBytes - 8 + length);
      storage::put_le(bytes.data() + pos, storage::checksum64(covered), 8);
      pos += storage::kRecordHeaderBytes + length;
    }
  }
  fuzz_segment(bytes);
}

// A valid snapshot built from the input, then one bit flipped where the
// input says: the reader must refuse it or still return exactly the chunks.
void fuzz_snapshot_bit_flip(ByteView input) {
  if (input.size() < 3) return;
  sim::SimFileSystem fs(0);
  auto writer = storage::SnapshotWriter::create(fs, "/s", storage::SnapshotMeta{}, 64);
  check(writer.has_value());
  std::vector<Bytes> chunks;
  for (std::size_t at = 2; at < input.size(); at += 64) {
    chunks.emplace_back(input.begin() + at, input.begin() + std::min(input.size(), at + 64));
    check((*writer)->write_chunk(chunks.back()).has_value());
  }
  check((*writer)->finish().has_value());
  const std::string path = "/s/" + storage::snapshot_file_name(LogIndex{0});
  const std::size_t size = fs.TEST_contents(path).size();
  const std::size_t offset = (input[0] | input[1] << 8) % size;
  fs.flip_bit(path, offset, input[0] % 8);
  auto reader = storage::SnapshotReader::open(fs, path);
  if (!reader) return;
  for (const Bytes& expected : chunks) {
    Result<std::optional<Bytes>> chunk = (*reader)->next_chunk();
    if (!chunk) return;  // detected
    check(chunk->has_value() && **chunk == expected);
  }
  // Every chunk read back intact: the flip must have been refused earlier.
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const ByteView input(data + 1, size - 1);
  switch (data[0] % 5) {
    case 0: fuzz_segment(input); break;
    case 1: fuzz_snapshot(input); break;
    case 2: fuzz_atomic(input); break;
    case 3: fuzz_segment_with_valid_checksums(input); break;
    case 4: fuzz_snapshot_bit_flip(input); break;
  }
  return 0;
}
