// The log segment format (docs/storage.md, "Log segments") and the scanner
// that recovery, `phalanx audit`, `phalanx inspect` and the fuzzer share.
//
// The scanner is pure: it takes a segment's bytes and what the previous
// segment promised (first index, previous hash) and reports every valid
// record up to the first bad one, why that one is bad, and what valid
// records can still be found after it. classify_scan() turns that into the
// torn-tail-or-corruption verdict of the format's recovery table.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/bytes.h"
#include "core/ids.h"
#include "crypto/hash.h"
#include "storage/file_system.h"

namespace phalanx::storage {

inline constexpr std::size_t kSegmentHeaderBytes = 64;
inline constexpr std::size_t kRecordHeaderBytes = 68;
inline constexpr std::uint32_t kWalFormatVersion = 1;
// Hard cap on a record's payload, whatever the configuration says.
inline constexpr std::uint32_t kEntryBytesHardMax = 1u << 30;

struct SegmentHeader {
  LogIndex first_index;
  crypto::Hash32 prev_hash;
};

[[nodiscard]] Bytes encode_segment_header(const SegmentHeader& header);

// Appends one record to `out`.
void encode_record(Bytes& out, LogIndex index, std::uint64_t term, std::uint64_t synced_through,
                   const crypto::Hash32& hash, ByteView payload);

// H(prev ‖ le64 index ‖ le64 term ‖ payload).
[[nodiscard]] crypto::Hash32 entry_hash(const crypto::Hash32& prev, LogIndex index,
                                        std::uint64_t term, ByteView payload);

// "00000000000000000042.seg"
[[nodiscard]] std::string segment_file_name(LogIndex first_index);
// The first index a segment file name claims, or nullopt if it is not one.
[[nodiscard]] std::optional<LogIndex> parse_segment_file_name(std::string_view name);

struct ScannedRecord {
  LogIndex index;
  std::uint64_t term = 0;
  std::uint64_t synced_through = 0;
  std::uint64_t offset = 0;  // of the record header in the file
  std::uint32_t payload_bytes = 0;
  crypto::Hash32 hash;
};

enum class ScanProblem : std::uint8_t {
  kNone,
  kHeaderTruncated,
  kHeaderBadMagic,
  kHeaderBadVersion,
  kHeaderBadChecksum,
  kHeaderWrongStart,  // first index or previous hash does not continue the log
  kRecordTruncated,   // the file ends inside a record
  kRecordTooLarge,    // length above the limit
  kRecordBadChecksum,
  kRecordWrongIndex,  // valid checksum, but not previous index + 1
  kRecordBadHash,     // valid checksum, but the entry hash breaks the chain
};

[[nodiscard]] std::string_view scan_problem_name(ScanProblem problem);

struct ParsedRecord {
  ScanProblem problem = ScanProblem::kNone;
  ScannedRecord record;  // valid when problem == kNone
  ByteView payload;      // points into the parsed bytes
};

// Parses the record at `pos`, checking what the record alone can prove:
// bounds, the length limit and the checksum (not its place in the chain).
[[nodiscard]] ParsedRecord parse_record(ByteView bytes, std::uint64_t pos,
                                        std::uint32_t entry_bytes_max);

struct SegmentScan {
  std::optional<SegmentHeader> header;
  std::vector<ScannedRecord> records;  // valid, contiguous, chained
  std::uint64_t valid_end = 0;         // byte offset just past the last valid record
  ScanProblem problem = ScanProblem::kNone;
  std::uint64_t problem_offset = 0;
  // Records with a valid checksum found after the problem (by resyncing).
  std::uint64_t later_valid_records = 0;
  std::uint64_t later_max_synced_through = 0;
};

// Runs body(0) ... body(parts - 1), each once, possibly several at the same
// time, and returns when all have run. The storage layer starts no threads
// itself: the node passes one that does (node/parallel.h). Unset, the
// parts run one after another on the caller's thread.
using ParallelFor =
    std::function<void(std::size_t parts, const std::function<void(std::size_t)>& body)>;

struct ScanExpectation {
  // When set, the header must start exactly here (continuing the previous segment).
  std::optional<LogIndex> first_index;
  std::optional<crypto::Hash32> prev_hash;
  std::uint32_t entry_bytes_max = kEntryBytesHardMax;
  // Checks the hash chain's links in parts. Each record stores its own
  // hash, so every link can be checked apart from the others.
  const ParallelFor* parallel = nullptr;
};

[[nodiscard]] SegmentScan scan_segment(ByteView bytes, const ScanExpectation& expect);

enum class ScanVerdict : std::uint8_t {
  kClean,
  kTornTail,             // truncate at valid_end
  kInterruptedCreation,  // the last segment's header never became durable: remove the file
  kCorruption,
};

// REQUIRES: scan was produced by scan_segment.
[[nodiscard]] ScanVerdict classify_scan(const SegmentScan& scan, bool is_last_segment);

[[nodiscard]] std::string_view scan_verdict_name(ScanVerdict verdict);

// One segment as the walker found it.
struct SegmentVisit {
  std::string path;
  LogIndex first;  // from the file name
  bool is_last = false;
  Bytes bytes;
  SegmentScan scan;
  ScanVerdict verdict = ScanVerdict::kClean;
};

// Reads the segments in `dir` in index order, scanning each against what
// the previous one promised (first index, previous hash; a missing segment
// is reported as corruption naming the gap). Calls `visit` for each; stops
// at the first error `visit` returns, and after a segment whose verdict is
// corruption (the chain cannot be followed past it). The previous hash passed on is that
// of the last valid record, so after a torn tail the next segment is
// checked against what recovery will keep. Read-only.
[[nodiscard]] Status walk_segments(FileSystem& fs, const std::string& dir,
                                   std::uint32_t entry_bytes_max,
                                   const std::function<Status(SegmentVisit&)>& visit,
                                   const ParallelFor* parallel = nullptr);

}  // namespace phalanx::storage
