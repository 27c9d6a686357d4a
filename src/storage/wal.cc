#include "storage/wal.h"

#include <fmt/format.h>

#include <algorithm>

#include "storage/checksum.h"
#include "storage/wal_format.h"

namespace phalanx::storage {
namespace {

constexpr std::string_view kRewriteSuffix = ".rewrite";

}  // namespace

Result<std::unique_ptr<Wal>> Wal::open(FileSystem& fs, std::string dir, const WalOptions& options) {
  if (options.entry_bytes_max > kEntryBytesHardMax) {
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("entry_bytes_max {} is over the format's limit {}",
                            options.entry_bytes_max, kEntryBytesHardMax));
  }
  if (options.segment_bytes_target < kSegmentHeaderBytes + kRecordHeaderBytes) {
    return fail(ErrorCode::kInvalidArgument, "segment_bytes_target is too small");
  }
  std::unique_ptr<Wal> wal(new Wal(fs, std::move(dir), options));
  PHALANX_TRY(wal->recover());
  return wal;
}

LogIndex Wal::written_index() const { return LogIndex{first_index_.value() + slots_.size() - 1}; }

LogIndex Wal::durable_index() const { return synced_index_; }

LogIndex Wal::last_index() const {
  return LogIndex{first_index_.value() + slots_.size() + staged_.size() - 1};
}

std::optional<std::uint64_t> Wal::term_at(LogIndex index) const {
  if (index < first_index_ || index > last_index()) return std::nullopt;
  const std::uint64_t k = index.value() - first_index_.value();
  if (k < slots_.size()) return slots_[k].term;
  return staged_[k - slots_.size()].term;
}

Status Wal::check_usable() const {
  if (failure_) {
    return fail(ErrorCode::kIo,
                fmt::format("log {} failed earlier ({}); reopen it to recover", dir_, *failure_));
  }
  return {};
}

Unexpected<Error> Wal::poison(Error error) {
  failure_ = error.message();
  return Unexpected(std::move(error));
}

// ---- Recovery ----

Status Wal::rewrite_file(const std::string& path, ByteView contents) {
  const std::string tmp = path + std::string(kRewriteSuffix);
  {
    PHALANX_ASSIGN_OR_RETURN(std::unique_ptr<File> file, fs_.open(tmp, OpenMode::kCreate));
    PHALANX_TRY(file->truncate(0));
    PHALANX_TRY(file->write_at(0, contents));
    PHALANX_TRY(file->datasync());
  }
  PHALANX_TRY(fs_.rename(tmp, path));
  return fs_.sync_dir(dir_);
}

Status Wal::recover() {
  PHALANX_TRY(ensure_dir(fs_, dir_));
  PHALANX_ASSIGN_OR_RETURN(std::vector<std::string> names, fs_.list(dir_));
  for (const std::string& name : names) {
    if (name.ends_with(kRewriteSuffix)) {
      PHALANX_TRY(fs_.remove(join_path(dir_, name)));  // an interrupted rewrite
    }
  }
  PHALANX_TRY(walk_segments(
      fs_, dir_, options_.entry_bytes_max, [this](SegmentVisit& v) { return recover_segment(v); },
      &options_.parallel));
  if (segments_.empty()) {
    first_index_ = LogIndex{1};
    written_hash_ = crypto::Hash32{};
  } else if (!segments_.back().writable) {
    // The segment after it was an interrupted creation, now removed: this
    // closed (and durable) segment is the open one again.
    Segment& open = segments_.back();
    PHALANX_ASSIGN_OR_RETURN(open.file, fs_.open(open.path, OpenMode::kReadWrite));
    open.writable = true;
  }
  // Segment creations and removals a dead process left unsynced must not
  // come undone after we act on what we found.
  PHALANX_TRY(fs_.sync_dir(dir_));
  last_hash_ = written_hash_;
  synced_index_ = written_index();
  recovery_.segments = segments_.size();
  recovery_.records = slots_.size();
  return {};
}

Status Wal::recover_segment(SegmentVisit& v) {
  switch (v.verdict) {
    case ScanVerdict::kCorruption:
      return fail(ErrorCode::kCorruption,
                  fmt::format("wal corruption in {} at offset {}: {}", v.path,
                              v.scan.problem_offset, scan_problem_name(v.scan.problem)));
    case ScanVerdict::kInterruptedCreation:
      PHALANX_TRY(fs_.remove(v.path));
      recovery_.removed_interrupted_segment = true;
      return {};
    case ScanVerdict::kTornTail:
      recovery_.torn_bytes_discarded += v.bytes.size() - v.scan.valid_end;
      recovery_.torn_records_discarded += v.scan.later_valid_records;
      break;
    case ScanVerdict::kClean: break;
  }
  if (v.is_last) {
    // The open segment is rewritten from what we read. After a process
    // crash, or an fsync that failed (the kernel then forgets the dirty
    // pages, writes and truncations alike), the page cache can show bytes
    // the disk does not hold, and no fsync can tell. A fresh, synced copy
    // makes the recovered state exactly the durable state.
    PHALANX_TRY(rewrite_file(v.path, ByteView(v.bytes).first(v.scan.valid_end)));
  }
  PHALANX_ASSIGN_OR_RETURN(std::unique_ptr<File> file,
                           fs_.open(v.path, v.is_last ? OpenMode::kReadWrite : OpenMode::kRead));
  if (segments_.empty()) {
    first_index_ = v.first;
    written_hash_ = v.scan.header->prev_hash;
  }
  for (const ScannedRecord& r : v.scan.records) {
    slots_.push_back({r.offset, r.term, r.payload_bytes});
    written_hash_ = r.hash;
  }
  segments_.push_back(
      {v.first, v.scan.header->prev_hash, v.path, std::move(file), v.scan.valid_end, v.is_last});
  return {};
}

// ---- Writing ----

Result<LogIndex> Wal::append(std::uint64_t term, ByteView payload) {
  PHALANX_TRY(check_usable());
  if (payload.size() > options_.entry_bytes_max) {
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("log entry of {} bytes is over entry_bytes_max {}", payload.size(),
                            options_.entry_bytes_max));
  }
  const LogIndex index = last_index().next();
  const crypto::Hash32 hash = entry_hash(last_hash_, index, term, payload);
  staged_.push_back({term, Bytes(payload.begin(), payload.end()), hash});
  last_hash_ = hash;
  return index;
}

Status Wal::start_segment(LogIndex first, const crypto::Hash32& prev_hash) {
  const std::string path = join_path(dir_, segment_file_name(first));
  Result<std::unique_ptr<File>> file = fs_.open(path, OpenMode::kCreateNew);
  if (!file) return poison(std::move(file).error());
  const Bytes header = encode_segment_header({first, prev_hash});
  if (Status s = (*file)->write_at(0, header); !s) {
    if (s.error().code() != ErrorCode::kNoSpace) return poison(std::move(s).error());
    // Leave no half-made segment behind; the caller may retry later.
    if (Status r = fs_.remove(path); !r) return poison(std::move(r).error());
    if (Status r = fs_.sync_dir(dir_); !r) return poison(std::move(r).error());
    return s;
  }
  if (Status s = (*file)->datasync(); !s) return poison(std::move(s).error());
  if (Status s = fs_.sync_dir(dir_); !s) return poison(std::move(s).error());
  segments_.push_back({first, prev_hash, path, std::move(*file), kSegmentHeaderBytes});
  return {};
}

// Writes `batch` (the first `staged_count` staged records) at the segment's
// written end and moves those records to slots_; durable once synced.
Status Wal::write_batch(Segment& segment, std::size_t staged_count, const Bytes& batch,
                        std::uint64_t end) {
  if (Status s = segment.file->write_at(segment.written_bytes, batch); !s) {
    if (s.error().code() != ErrorCode::kNoSpace) return poison(std::move(s).error());
    // Disk full: cut off whatever part landed so no partial record remains.
    if (Status t = segment.file->truncate(segment.written_bytes); !t) {
      return poison(std::move(t).error());
    }
    if (Status t = segment.file->datasync(); !t) return poison(std::move(t).error());
    return s;
  }
  std::uint64_t offset = segment.written_bytes;
  for (std::size_t k = 0; k < staged_count; ++k) {
    Staged& e = staged_.front();
    const auto payload_bytes = static_cast<std::uint32_t>(e.payload.size());
    slots_.push_back({offset, e.term, payload_bytes});
    offset += kRecordHeaderBytes + payload_bytes;
    written_hash_ = e.hash;
    staged_.pop_front();
  }
  PHALANX_ASSERT(offset == end);
  segment.written_bytes = end;
  return {};
}

Status Wal::sync_open_segment() {
  Segment& open = segments_.back();
  if (synced_index_ == written_index()) return {};
  if (Status s = open.file->datasync(); !s) return lose_unsynced(open, std::move(s).error());
  open.synced_bytes = open.written_bytes;
  synced_index_ = written_index();
  return {};
}

Unexpected<Error> Wal::lose_unsynced(Segment& segment, Error error) {
  if (segment.file->truncate(segment.synced_bytes)) (void)segment.file->datasync();
  return poison(std::move(error));
}

Result<LogIndex> Wal::sync() {
  PHALANX_ASSIGN_OR_RETURN(std::optional<WalFlush> flush, write_staged());
  if (flush) PHALANX_TRY(sync_open_segment());
  return durable_index();
}

Result<std::optional<WalFlush>> Wal::write_staged() {
  PHALANX_TRY(check_usable());
  if (!staged_.empty() && segments_.empty()) {
    PHALANX_TRY(start_segment(written_index().next(), written_hash_));
  }
  while (!staged_.empty()) {
    Segment& segment = segments_.back();
    // A record claims what was durable when it was written (recovery tells
    // a torn tail from corruption by it).
    const std::uint64_t synced_through = synced_index_.value();
    LogIndex index = written_index().next();
    Bytes batch;
    std::uint64_t end = segment.written_bytes;
    std::size_t count = 0;
    for (const Staged& e : staged_) {
      const std::uint64_t bytes = kRecordHeaderBytes + e.payload.size();
      const bool has_records = end > kSegmentHeaderBytes;
      if (has_records && end + bytes > options_.segment_bytes_target) break;
      encode_record(batch, index, e.term, synced_through, e.hash, e.payload);
      // e.hash was chained in append(); recovery and audit re-verify the chain.
      index = index.next();
      end += bytes;
      ++count;
    }
    if (count > 0) PHALANX_TRY(write_batch(segment, count, batch, end));
    if (staged_.empty()) break;
    // The open segment is full: it is made durable and closed before the
    // next is started, so only the last segment holds unsynced entries.
    PHALANX_TRY(sync_open_segment());
    PHALANX_TRY(start_segment(written_index().next(), written_hash_));
  }
  if (synced_index_ == written_index()) return std::nullopt;
  const Segment& open = segments_.back();
  return WalFlush{written_index(), generation_, open.file, open.first, open.written_bytes};
}

Result<LogIndex> Wal::flushed(const WalFlush& flush, const Status& outcome) {
  PHALANX_TRY(check_usable());
  const auto segment = std::find_if(segments_.begin(), segments_.end(), [&](const Segment& s) {
    return s.first == flush.segment_first && s.file == flush.file;
  });
  if (!outcome) {
    if (segment != segments_.end()) return lose_unsynced(*segment, outcome.error());
    return poison(outcome.error());
  }
  if (flush.generation != generation_) return durable_index();  // cut or reset since
  PHALANX_ASSERT(flush.through <= written_index());
  if (flush.through > synced_index_) synced_index_ = flush.through;
  // Gone only if a later segment was started (which synced this one) and it was compacted.
  if (segment != segments_.end()) {
    segment->synced_bytes = std::max(segment->synced_bytes, flush.segment_bytes);
  }
  return durable_index();
}

Status Wal::remove_segment_file(const Segment& segment) {
  if (Status s = fs_.remove(segment.path); !s) return poison(std::move(s).error());
  return {};
}

Wal::Segment& Wal::segment_holding(LogIndex index) {
  PHALANX_ASSERT(!segments_.empty());
  auto it = std::upper_bound(segments_.begin(), segments_.end(), index,
                             [](LogIndex i, const Segment& s) { return i < s.first; });
  PHALANX_ASSERT(it != segments_.begin());
  return *std::prev(it);
}

Status Wal::truncate_suffix(LogIndex from) {
  PHALANX_TRY(check_usable());
  if (from < first_index_ || from > last_index().next()) {
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("truncate_suffix({}) outside [{}, {}]", from.value(),
                            first_index_.value(), last_index().next().value()));
  }
  if (from > written_index()) {
    staged_.resize(from.value() - written_index().next().value());
    last_hash_ = staged_.empty() ? written_hash_ : staged_.back().hash;
    return {};
  }
  staged_.clear();
  Segment& holder = segment_holding(from);
  // Later segments go first, newest first, so a crash leaves a contiguous log.
  std::size_t removed = 0;
  for (auto it = segments_.rbegin(); &*it != &holder; ++it) {
    PHALANX_TRY(remove_segment_file(*it));
    ++removed;
  }
  if (removed > 0) {
    if (Status s = fs_.sync_dir(dir_); !s) return poison(std::move(s).error());
    segments_.resize(segments_.size() - removed);
    // The holder becomes the open segment; recovery opened it read-only.
    if (!holder.writable) {
      Result<std::unique_ptr<File>> writable = fs_.open(holder.path, OpenMode::kReadWrite);
      if (!writable) return poison(std::move(writable).error());
      holder.file = std::move(*writable);
      holder.writable = true;
    }
  }
  Segment& segment = segments_.back();
  const std::uint64_t k = from.value() - first_index_.value();
  const std::uint64_t cut = from == segment.first ? kSegmentHeaderBytes : slots_[k].offset;
  if (Status s = segment.file->truncate(cut); !s) return poison(std::move(s).error());
  // Also makes the entries before `from` in it durable, if they were not.
  if (Status s = segment.file->datasync(); !s) return poison(std::move(s).error());
  segment.written_bytes = cut;
  segment.synced_bytes = cut;
  slots_.resize(k);
  synced_index_ = written_index();
  ++generation_;
  if (from == segment.first) {
    written_hash_ = segment.prev_hash;
  } else {
    PHALANX_ASSIGN_OR_RETURN(WalEntry before, read_written(LogIndex{from.value() - 1}));
    written_hash_ = before.hash;
  }
  last_hash_ = written_hash_;
  return {};
}

Status Wal::compact_prefix(LogIndex through) {
  PHALANX_TRY(check_usable());
  while (segments_.size() > 1 && segments_[1].first.value() - 1 <= through.value()) {
    PHALANX_TRY(remove_segment_file(segments_.front()));
    // One durable removal at a time: a crash never leaves a gap.
    if (Status s = fs_.sync_dir(dir_); !s) return poison(std::move(s).error());
    const std::uint64_t entries = segments_[1].first.value() - segments_[0].first.value();
    slots_.erase(slots_.begin(), slots_.begin() + static_cast<std::ptrdiff_t>(entries));
    segments_.pop_front();
    first_index_ = segments_.front().first;
  }
  return {};
}

Status Wal::reset(LogIndex next, const crypto::Hash32& prev_hash) {
  PHALANX_TRY(check_usable());
  PHALANX_ASSERT(next.value() > 0);
  for (auto it = segments_.rbegin(); it != segments_.rend(); ++it) {
    PHALANX_TRY(remove_segment_file(*it));
  }
  if (Status s = fs_.sync_dir(dir_); !s) return poison(std::move(s).error());
  segments_.clear();
  slots_.clear();
  staged_.clear();
  first_index_ = next;
  written_hash_ = prev_hash;
  last_hash_ = prev_hash;
  synced_index_ = written_index();
  ++generation_;
  return start_segment(next, prev_hash);
}

// ---- Reading ----

Result<WalEntry> Wal::read(LogIndex index) {
  if (index < first_index_ || index > last_index()) {
    return fail(ErrorCode::kNotFound, fmt::format("log index {} not in [{}, {}]", index.value(),
                                                  first_index_.value(), last_index().value()));
  }
  if (index > written_index()) {
    const Staged& e = staged_[index.value() - written_index().next().value()];
    return WalEntry{index, e.term, e.payload, e.hash};
  }
  return read_written(index);
}

Result<WalEntry> Wal::read_written(LogIndex index) {
  PHALANX_TRY(check_usable());
  const Slot& slot = slots_[index.value() - first_index_.value()];
  Segment& segment = segment_holding(index);
  PHALANX_ASSIGN_OR_RETURN(
      Bytes record, segment.file->read_exact(slot.offset, kRecordHeaderBytes + slot.payload_bytes));
  return parse_written(index, segment, record, slot.offset);
}

Result<WalEntry> Wal::parse_written(LogIndex index, const Segment& segment, ByteView bytes,
                                    std::uint64_t base) const {
  const Slot& slot = slots_[index.value() - first_index_.value()];
  // Check what we read back: a flipped bit since recovery must not be served.
  const ParsedRecord parsed = parse_record(bytes, slot.offset - base, options_.entry_bytes_max);
  if (parsed.problem != ScanProblem::kNone || parsed.record.index != index ||
      parsed.record.term != slot.term) {
    return fail(ErrorCode::kCorruption,
                fmt::format("wal corruption in {} at offset {}: {}", segment.path, slot.offset,
                            parsed.problem == ScanProblem::kNone
                                ? std::string_view("record does not match the index")
                                : scan_problem_name(parsed.problem)));
  }
  return WalEntry{index, parsed.record.term, Bytes(parsed.payload.begin(), parsed.payload.end()),
                  parsed.record.hash};
}

Status Wal::read_range(LogIndex from, LogIndex through,
                       const std::function<Status(WalEntry&&)>& visit) {
  if (from > through) return {};
  if (from < first_index_ || through > last_index()) {
    return fail(ErrorCode::kNotFound,
                fmt::format("log range [{}, {}] not in [{}, {}]", from.value(), through.value(),
                            first_index_.value(), last_index().value()));
  }
  PHALANX_TRY(check_usable());
  std::uint64_t i = from.value();
  const std::uint64_t written_through = std::min(through.value(), written_index().value());
  while (i <= written_through) {
    // The written entries i.. that this segment holds, read at once.
    // The segment holding i (as segment_holding), and where the next one starts.
    const auto next = std::upper_bound(segments_.begin(), segments_.end(), LogIndex{i},
                                       [](LogIndex x, const Segment& s) { return x < s.first; });
    PHALANX_ASSERT(next != segments_.begin());
    Segment& segment = *std::prev(next);
    const std::uint64_t segment_last =
        next != segments_.end() ? next->first.value() - 1 : written_index().value();
    const std::uint64_t last = std::min(segment_last, written_through);
    const Slot& first_slot = slots_[i - first_index_.value()];
    const Slot& last_slot = slots_[last - first_index_.value()];
    const std::uint64_t end = last_slot.offset + kRecordHeaderBytes + last_slot.payload_bytes;
    PHALANX_ASSIGN_OR_RETURN(Bytes bytes,
                             segment.file->read_exact(first_slot.offset, end - first_slot.offset));
    for (; i <= last; ++i) {
      PHALANX_ASSIGN_OR_RETURN(WalEntry e,
                               parse_written(LogIndex{i}, segment, bytes, first_slot.offset));
      PHALANX_TRY(visit(std::move(e)));
    }
  }
  for (; i <= through.value(); ++i) {
    PHALANX_ASSIGN_OR_RETURN(WalEntry e, read(LogIndex{i}));
    PHALANX_TRY(visit(std::move(e)));
  }
  return {};
}

}  // namespace phalanx::storage
