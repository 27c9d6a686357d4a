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
// Or sync in the background: write_staged() writes the staged entries to the
// open segment and returns a WalFlush; a disk thread runs it while the owner
// goes on appending, and flushed() reports how it went:
//
//   std::optional<WalFlush> f = *(*wal)->write_staged();
//   Status outcome = f->run();                      // on any thread
//   LogIndex durable = *(*wal)->flushed(*f, outcome);
//
// Only the open (last) segment ever holds entries written but not yet
// durable: a full segment is synced before the next one is started.
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
  // Checks the hash chain on open in parts, on the threads this runs them on.
  ParallelFor parallel = {};
};

struct WalEntry {
  LogIndex index;
  std::uint64_t term = 0;
  Bytes payload;
  crypto::Hash32 hash;
};

// What open() found and repaired. Nothing is dropped without a count here.
// Entries written to the open segment and not yet known to be durable
// (Wal::write_staged). run() only datasyncs a file it keeps open, so any
// thread may call it while the Wal's owner goes on; the outcome goes back to
// the owner's Wal::flushed().
struct WalFlush {
  LogIndex through;  // durable through this index once run() succeeds
  std::uint64_t generation = 0;
  std::shared_ptr<File> file;
  LogIndex segment_first;
  std::uint64_t segment_bytes = 0;  // the segment's length it covers

  [[nodiscard]] Status run() const { return file->datasync(); }
};

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
  // Writes every staged entry to the segment files without waiting for the
  // disk, and returns the flush that makes them durable (nullopt if every
  // written entry already is). Entries appended meanwhile stay staged until
  // the next call. Errors as sync().
  [[nodiscard]] Result<std::optional<WalFlush>> write_staged();
  // What flush.run() returned. On success durable_index() covers
  // flush.through, unless a truncate_suffix() or reset() since then made the
  // flush moot (they leave the log durable themselves). A failed flush
  // poisons the log (see FileSystem: the file's durable contents are then
  // unknown), even a moot one. Returns durable_index().
  [[nodiscard]] Result<LogIndex> flushed(const WalFlush& flush, const Status& outcome);

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
    std::shared_ptr<File> file;  // shared with a WalFlush in flight
    std::uint64_t written_bytes = 0;
    bool writable = true;  // recovery opens closed segments read-only
    std::uint64_t synced_bytes = written_bytes;
  };
  struct Slot {  // a written entry's place on disk
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
  // Makes the open segment's written entries durable (blocking).
  Status sync_open_segment();
  // fsyncgate: the kernel may have marked the pages clean without writing
  // them, so they stay visible while not durable and no later fsync fixes
  // that. Cuts them off (best effort) so nothing visible claims to be
  // durable, then poisons the log.
  Unexpected<Error> lose_unsynced(Segment& segment, Error error);
  [[nodiscard]] LogIndex written_index() const;
  Status remove_segment_file(const Segment& segment);
  Segment& segment_holding(LogIndex index);
  Result<WalEntry> read_written(LogIndex index);
  // The written record at `index` parsed out of `bytes`, which hold the
  // segment from file offset `base` on.
  Result<WalEntry> parse_written(LogIndex index, const Segment& segment, ByteView bytes,
                                 std::uint64_t base) const;

  FileSystem& fs_;
  std::string dir_;
  WalOptions options_;
  std::deque<Segment> segments_;
  std::deque<Slot> slots_;     // entries first_index_ .. written_index()
  std::deque<Staged> staged_;  // entries written_index()+1 .. last_index()
  LogIndex first_index_{1};
  LogIndex synced_index_;         // durable_index(): at most written_index()
  std::uint64_t generation_ = 0;  // bumped when written entries are cut or dropped
  crypto::Hash32 written_hash_;   // hash of written_index()'s entry
  crypto::Hash32 last_hash_;
  std::optional<std::string> failure_;
  WalRecovery recovery_;
};

}  // namespace phalanx::storage
