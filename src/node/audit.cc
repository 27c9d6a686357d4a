#include "node/audit.h"

#include <fmt/format.h>

#include "consensus/bft/safety.h"
#include "consensus/raft/hard_state.h"
#include "storage/atomic_file.h"
#include "storage/data_dir.h"
#include "storage/hard_state.h"
#include "storage/snapshot.h"
#include "storage/wal_format.h"

namespace phalanx::node {
namespace {

using storage::FileSystem;
using storage::join_path;
using storage::ScannedRecord;
using storage::ScanVerdict;
using storage::SegmentVisit;
using storage::SnapshotMeta;
using storage::SnapshotReader;

// Corruption errors carry file and offset in their message; keep it whole.
AuditFinding finding_from(const Error& e, const std::string& file) {
  return AuditFinding{file, 0, e.to_string(), true};
}

// `anchor`: the snapshot's last index, whose entry hash (or the hash a
// segment header gives for it) is returned in `anchor_hash` when the log
// reaches it.
void audit_log(FileSystem& fs, const std::string& data_dir, AuditReport& report,
               std::optional<LogIndex> anchor, std::optional<crypto::Hash32>& anchor_hash) {
  const std::string dir = storage::wal_dir(data_dir);
  Result<bool> present = fs.exists(dir);
  if (!present || !*present) return;
  Status walked =
      storage::walk_segments(fs, dir, storage::kEntryBytesHardMax, [&](SegmentVisit& v) -> Status {
        ++report.segments;
        if (v.scan.header && !report.first_index) {
          report.first_index = v.first;
          if (anchor && anchor->value() + 1 == v.first.value())
            anchor_hash = v.scan.header->prev_hash;
        }
        for (const ScannedRecord& r : v.scan.records) {
          ++report.records;
          report.last_index = r.index;
          report.head = r.hash;
          if (anchor && r.index == *anchor) anchor_hash = r.hash;
        }
        if (v.verdict == ScanVerdict::kClean) return {};
        const bool fatal = v.verdict == ScanVerdict::kCorruption;
        std::string problem(storage::scan_problem_name(v.scan.problem));
        if (!fatal) {
          problem = fmt::format("{} ({}): {} bytes would be discarded on open",
                                storage::scan_verdict_name(v.verdict), problem,
                                v.bytes.size() - v.scan.valid_end);
        }
        report.findings.push_back({v.path, v.scan.problem_offset, problem, fatal});
        return {};
      });
  if (!walked) report.findings.push_back(finding_from(walked.error(), dir));
}

template <class State>
void audit_hard_state(FileSystem& fs, const std::string& path, AuditReport& report) {
  Result<std::optional<Bytes>> bytes = storage::read_atomic(fs, path, storage::kHardStateBytesMax);
  if (!bytes) {
    report.findings.push_back(finding_from(bytes.error(), path));
    return;
  }
  if (!*bytes) return;
  report.hard_state_files.push_back(path);
  Result<State> state = codec::decode<State>(**bytes);
  if (!state) {
    report.findings.push_back({path, 12, "undecodable: " + state.error().message(), true});
  }
}

// Verifies the newest snapshot; returns its metadata if it is whole.
std::optional<SnapshotMeta> audit_snapshot(FileSystem& fs, const std::string& data_dir,
                                           AuditReport& report) {
  const std::string dir = storage::snapshot_dir(data_dir);
  Result<bool> present = fs.exists(dir);
  if (!present || !*present) return std::nullopt;
  Result<std::vector<std::string>> names = fs.list(dir);
  if (!names) {
    report.findings.push_back(finding_from(names.error(), dir));
    return std::nullopt;
  }
  std::optional<std::string> newest;
  for (const std::string& name : *names) {
    if (name.ends_with(".snap")) newest = join_path(dir, name);
  }
  if (!newest) return std::nullopt;
  Result<std::unique_ptr<SnapshotReader>> reader = SnapshotReader::open(fs, *newest);
  if (!reader) {
    report.findings.push_back(finding_from(reader.error(), *newest));
    return std::nullopt;
  }
  if (Status s = (*reader)->verify_all(); !s) {
    report.findings.push_back(finding_from(s.error(), *newest));
    return std::nullopt;
  }
  report.snapshot_index = (*reader)->manifest().meta.last_index;
  report.snapshot_file = *newest;
  return (*reader)->manifest().meta;
}

void check_snapshot_meets_log(const SnapshotMeta& meta,
                              const std::optional<crypto::Hash32>& anchor_hash,
                              AuditReport& report) {
  if (anchor_hash && *anchor_hash != meta.last_entry_hash) {
    report.findings.push_back(
        {report.snapshot_file, 0,
         fmt::format("snapshot at index {} disagrees with the log's hash chain there",
                     meta.last_index.value()),
         true});
  }
  if (report.first_index && meta.last_index.value() + 1 < report.first_index->value()) {
    report.findings.push_back(
        {report.snapshot_file, 0,
         fmt::format("entries {}..{} are in neither the snapshot nor the log",
                     meta.last_index.value() + 1, report.first_index->value() - 1),
         true});
  }
}

}  // namespace

bool AuditReport::ok() const {
  for (const AuditFinding& f : findings) {
    if (f.fatal) return false;
  }
  return true;
}

Result<AuditReport> audit_data_dir(FileSystem& fs, const std::string& data_dir) {
  PHALANX_ASSIGN_OR_RETURN(bool present, fs.exists(data_dir));
  if (!present) return fail(ErrorCode::kNotFound, data_dir + ": no such directory");
  AuditReport report;
  const std::optional<SnapshotMeta> snapshot = audit_snapshot(fs, data_dir, report);
  std::optional<crypto::Hash32> anchor_hash;
  audit_log(fs, data_dir, report,
            snapshot ? std::optional<LogIndex>(snapshot->last_index) : std::nullopt, anchor_hash);
  if (snapshot) check_snapshot_meets_log(*snapshot, anchor_hash, report);
  audit_hard_state<raft::HardState>(fs, storage::raft_state_path(data_dir), report);
  audit_hard_state<bft::SafetyData>(fs, storage::bft_state_path(data_dir), report);
  return report;
}

}  // namespace phalanx::node
