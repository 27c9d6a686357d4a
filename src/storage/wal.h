// The write-ahead log: segmented, checksummed, hash-chained (format and
// recovery rules: docs/storage.md).
//
//   Result<std::unique_ptr<Wal>> wal = Wal::open(fs, "data/wal", {});
//   LogIndex i = *(*wal)->append(term, payload);   // staged in memory
//   LogIndex durable = *(*wal)->sync();            // one write + one fdatasync
//   // Promise nothing about index i to anyone until durable >= i.
//
// Entries are numbered from 1 with no gaps. append() only stages; sync() is
// the group commit that makes every staged entry durable and reports the
// durable index. Reads see staged entries too.
//
// Errors: kCorruption from open() (file, offset and reason in the message);
// kNoSpace from sync() when the disk is full (nothing partial is visible;
// the staged entries stay staged and sync() may be retried); kIo from any
// call after an I/O failure, which poisons the log until it is reopened.
// Not thread-safe: one owner drives it.
#pragma once

#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "core/error.h"
#include "core/ids.h"
#include "crypto/hash.h"
#include "storage/file_system.h"
#include "storage/wal_format.h"

namespace phalanx::storage {

struct WalOptions {
  std::uint64_t segment_bytes_target = 64ull << 20;
  std::uint32_t entry_bytes_max = 16u << 20;
};

struct WalEntry {
  LogIndex index;
  std::uint64_t term = 0;
  Bytes payload;
  crypto::Hash32 hash;
};

// What open() found and repaired. Nothing is dropped without a count here.
struct WalRecovery {
  std::uint64_t segments = 0;
  std::uint64_t records = 0;
  std::uint64_t torn_bytes_discarded = 0;
  // Records with valid checksums lying past a torn record; they were written
  // in the same unsynced window and are discarded with it.
  std::uint64_t torn_records_discarded = 0;
  bool removed_interrupted_segment = false;
};

class Wal {
 public:
  // Creates `dir` if needed and recovers whatever it holds.
  [[nodiscard]] static Result<std::unique_ptr<Wal>> open(FileSystem& fs, std::string dir,
                                                         const WalOptions& options);

  // Entries [first_index, last_index] exist; the log is empty when
  // last_index() + 1 == first_index().
  [[nodiscard]] LogIndex first_index() const { return first_index_; }
  [[nodiscard]] LogIndex last_index() const;
  [[nodiscard]] LogIndex durable_index() const;
  // Hash of last_index()'s entry (of the entry before first_index() if empty).
  [[nodiscard]] const crypto::Hash32& last_hash() const { return last_hash_; }
  [[nodiscard]] std::optional<std::uint64_t> term_at(LogIndex index) const;
  [[nodiscard]] const WalRecovery& recovery() const { return recovery_; }

  // kNotFound outside [first_index, last_index]; kCorruption if the stored
  // record no longer matches its checksum.
  [[nodiscard]] Result<WalEntry> read(LogIndex index);
  // Every entry in [from, through] in order, to `visit`, with the checks of
  // read(); the durable ones are read with one read per segment instead of
  // one per entry (recovery reads whole logs). Stops at the first error,
  // `visit`'s included. kNotFound if the range is not within the log.
  [[nodiscard]] Status read_range(LogIndex from, LogIndex through,
                                  const std::function<Status(WalEntry&&)>& visit);

  // Stages an entry at last_index()+1. kInvalidArgument if the payload is
  // over entry_bytes_max.
  [[nodiscard]] Result<LogIndex> append(std::uint64_t term, ByteView payload);
  // Makes every staged entry durable; returns durable_index().
  [[nodiscard]] Result<LogIndex> sync();

  // Removes entries >= from; durable before it returns.
  // REQUIRES (else kInvalidArgument): first_index() <= from <= last_index()+1.
  [[nodiscard]] Status truncate_suffix(LogIndex from);
  // Removes whole segments whose entries are all <= through (never the last
  // segment). Entries after `through` are untouched.
  [[nodiscard]] Status compact_prefix(LogIndex through);
  // Drops everything and starts empty at `next` with `prev_hash` as the hash
  // of next-1 (after installing a snapshot that covers the whole log).
  [[nodiscard]] Status reset(LogIndex next, const crypto::Hash32& prev_hash);

 private:
  struct Segment {
    LogIndex first;
    crypto::Hash32 prev_hash;
    std::string path;
    std::unique_ptr<File> file;
    std::uint64_t durable_bytes = 0;
    bool writable = true;  // recovery opens closed segments read-only
  };
  struct Slot {  // a durable entry's place on disk
    std::uint64_t offset;
    std::uint64_t term;
    std::uint32_t payload_bytes;
  };
  struct Staged {
    std::uint64_t term;
    Bytes payload;
    crypto::Hash32 hash;
  };

  Wal(FileSystem& fs, std::string dir, const WalOptions& options)
      : fs_(fs), dir_(std::move(dir)), options_(options) {}

  Status recover();
  Status recover_segment(SegmentVisit& visit);
  Status rewrite_file(const std::string& path, ByteView contents);
  Status check_usable() const;
  Unexpected<Error> poison(Error error);
  Status start_segment(LogIndex first, const crypto::Hash32& prev_hash);
  Status write_batch(Segment& segment, std::size_t staged_count, const Bytes& batch,
                     std::uint64_t end);
  Status remove_segment_file(const Segment& segment);
  Segment& segment_holding(LogIndex index);
  Result<WalEntry> read_durable(LogIndex index);
  // The durable record at `index` parsed out of `bytes`, which hold the
  // segment from file offset `base` on.
  Result<WalEntry> parse_durable(LogIndex index, const Segment& segment, ByteView bytes,
                                 std::uint64_t base) const;

  FileSystem& fs_;
  std::string dir_;
  WalOptions options_;
  std::deque<Segment> segments_;
  std::deque<Slot> slots_;     // entries first_index_ .. durable_index()
  std::deque<Staged> staged_;  // entries durable_index()+1 .. last_index()
  LogIndex first_index_{1};
  crypto::Hash32 durable_hash_;  // hash of durable_index()'s entry
  crypto::Hash32 last_hash_;
  std::optional<std::string> failure_;
  WalRecovery recovery_;
};

}  // namespace phalanx::storage
