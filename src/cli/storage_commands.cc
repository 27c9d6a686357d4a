// phalanx inspect | audit — read-only views of a data directory.
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "consensus/bft/safety.h"
#include "consensus/raft/hard_state.h"
#include "consensus/raft/snapshot_manifest.h"
#include "node/audit.h"
#include "storage/atomic_file.h"
#include "storage/data_dir.h"
#include "storage/hard_state.h"
#include "storage/posix_file_system.h"
#include "storage/snapshot.h"
#include "storage/wal_format.h"

namespace phalanx::cli {
namespace {

using nlohmann::json;
using storage::PosixFileSystem;

constexpr std::size_t kPayloadPreviewBytes = 32;

void emit(const json& line) { fmt::print("{}\n", line.dump()); }

std::string hex(ByteView bytes) { return to_hex(bytes); }

Status inspect_segment(storage::SegmentVisit& v, bool full_payload) {
  json seg = {{"kind", "segment"},
              {"file", v.path},
              {"bytes", v.bytes.size()},
              {"records", v.scan.records.size()},
              {"verdict", storage::scan_verdict_name(v.verdict)}};
  if (v.scan.header) {
    seg["first_index"] = v.scan.header->first_index.value();
    seg["prev_hash"] = hex(v.scan.header->prev_hash.view());
  }
  emit(seg);
  for (const storage::ScannedRecord& r : v.scan.records) {
    const ByteView payload =
        ByteView(v.bytes).subspan(r.offset + storage::kRecordHeaderBytes, r.payload_bytes);
    const ByteView shown =
        full_payload ? payload : payload.first(std::min(payload.size(), kPayloadPreviewBytes));
    emit({{"kind", "record"},
          {"file", v.path},
          {"offset", r.offset},
          {"index", r.index.value()},
          {"term", r.term},
          {"synced_through", r.synced_through},
          {"hash", hex(r.hash.view())},
          {"payload_bytes", r.payload_bytes},
          {"payload_hex", hex(shown)},
          {"payload_truncated", shown.size() < payload.size()}});
  }
  if (v.verdict != storage::ScanVerdict::kClean) {
    emit({{"kind", "problem"},
          {"file", v.path},
          {"offset", v.scan.problem_offset},
          {"problem", storage::scan_problem_name(v.scan.problem)},
          {"verdict", storage::scan_verdict_name(v.verdict)}});
  }
  return {};
}

Status inspect_raft_state(storage::FileSystem& fs, const std::string& path) {
  PHALANX_ASSIGN_OR_RETURN(std::optional<Bytes> bytes,
                           storage::read_atomic(fs, path, storage::kHardStateBytesMax));
  if (!bytes) return {};
  PHALANX_ASSIGN_OR_RETURN(raft::HardState s, codec::decode<raft::HardState>(*bytes));
  json line = {{"kind", "raft_state"},
               {"file", path},
               {"term", s.term.value()},
               {"commit", s.commit.value()},
               {"voted_for", nullptr}};
  if (s.voted_for) line["voted_for"] = s.voted_for->value();
  emit(line);
  return {};
}

Status inspect_bft_state(storage::FileSystem& fs, const std::string& path) {
  PHALANX_ASSIGN_OR_RETURN(std::optional<Bytes> bytes,
                           storage::read_atomic(fs, path, storage::kHardStateBytesMax));
  if (!bytes) return {};
  PHALANX_ASSIGN_OR_RETURN(bft::SafetyData s, codec::decode<bft::SafetyData>(*bytes));
  // The round each promise was made in; null where there is none yet.
  const auto round_of = [](const auto& promise) -> json {
    if (!promise) return nullptr;
    return promise->round.value();
  };
  emit({{"kind", "bft_state"},
        {"file", path},
        {"epoch", s.epoch.value()},
        {"last_voted_round", s.last_voted_round.value()},
        {"locked_round", s.locked_round.value()},
        {"last_vote_round", round_of(s.last_vote)},
        {"last_timeout_round", round_of(s.last_timeout)},
        {"lock_qc_round", round_of(s.lock_qc)},
        {"last_tc_round", round_of(s.last_tc)}});
  return {};
}

Status inspect_snapshot(storage::FileSystem& fs, const std::string& path) {
  PHALANX_ASSIGN_OR_RETURN(std::unique_ptr<storage::SnapshotReader> reader,
                           storage::SnapshotReader::open(fs, path));
  const storage::SnapshotManifest& m = reader->manifest();
  json line = {{"kind", "snapshot"},
               {"file", path},
               {"last_index", m.meta.last_index.value()},
               {"last_entry_hash", hex(m.meta.last_entry_hash.view())},
               {"chunks", m.chunks.chunk_count},
               {"total_bytes", m.chunks.total_bytes},
               {"root", hex(m.chunks.root.view())}};
  // A Raft snapshot says its term and membership; a BFT one keeps them in its state.
  if (Result<raft::SnapshotMeta> raft = codec::decode<raft::SnapshotMeta>(m.meta.protocol)) {
    line["last_term"] = raft->last_term.value();
    line["membership_hex"] = hex(raft->membership);
  }
  emit(line);
  return {};
}

Status inspect_dir(storage::FileSystem& fs, const std::string& dir, bool full_payload) {
  PHALANX_ASSIGN_OR_RETURN(bool present, fs.exists(dir));
  if (!present) return fail(ErrorCode::kNotFound, dir + ": no such file or directory");
  const std::string wal = storage::wal_dir(dir);
  PHALANX_ASSIGN_OR_RETURN(bool has_wal, fs.exists(wal));
  if (has_wal) {
    PHALANX_TRY(storage::walk_segments(
        fs, wal, storage::kEntryBytesHardMax,
        [full_payload](storage::SegmentVisit& v) { return inspect_segment(v, full_payload); }));
  }
  PHALANX_TRY(inspect_raft_state(fs, storage::raft_state_path(dir)));
  PHALANX_TRY(inspect_bft_state(fs, storage::bft_state_path(dir)));
  const std::string snaps = storage::snapshot_dir(dir);
  PHALANX_ASSIGN_OR_RETURN(bool has_snapshots, fs.exists(snaps));
  if (has_snapshots) {
    PHALANX_ASSIGN_OR_RETURN(std::vector<std::string> names, fs.list(snaps));
    for (const std::string& name : names) {
      if (name.ends_with(".snap"))
        PHALANX_TRY(inspect_snapshot(fs, storage::join_path(snaps, name)));
    }
  }
  return {};
}

int run_inspect(const std::string& path, bool full_payload) {
  PosixFileSystem fs;
  Status s;
  if (path.ends_with(".seg")) {
    storage::SegmentVisit v;
    v.path = path;
    v.is_last = true;
    Result<Bytes> bytes = storage::read_whole_file(fs, path, std::size_t{1} << 33);
    if (!bytes) return report(bytes.error());
    v.bytes = std::move(*bytes);
    v.scan = storage::scan_segment(v.bytes, {});
    v.verdict = storage::classify_scan(v.scan, true);
    s = inspect_segment(v, full_payload);
  } else if (path.ends_with(".snap")) {
    s = inspect_snapshot(fs, path);
  } else if (path.ends_with("raft_state")) {
    s = inspect_raft_state(fs, path);
  } else if (path.ends_with("bft_state")) {
    s = inspect_bft_state(fs, path);
  } else {
    s = inspect_dir(fs, path, full_payload);
  }
  return s ? kExitOk : report(s.error());
}

int run_audit(const std::string& dir) {
  PosixFileSystem fs;
  Result<node::AuditReport> r = node::audit_data_dir(fs, dir);
  if (!r) return report(r.error());
  fmt::print("audit {}: {}\n", dir, r->ok() ? "ok" : "FAILED");
  if (r->first_index && r->last_index) {
    fmt::print("  log: {} segments, {} records, indexes {}..{}, chain head {}\n", r->segments,
               r->records, r->first_index->value(), r->last_index->value(), hex(r->head.view()));
  } else {
    fmt::print("  log: {} segments, no records\n", r->segments);
  }
  if (r->snapshot_index) {
    fmt::print("  snapshot: index {} ({}), every chunk verified\n", r->snapshot_index->value(),
               r->snapshot_file);
  }
  for (const std::string& f : r->hard_state_files) fmt::print("  hard state: {} verified\n", f);
  for (const node::AuditFinding& f : r->findings) {
    fmt::print("  {}: {} offset {}: {}\n", f.fatal ? "FAIL" : "note", f.file, f.offset, f.problem);
  }
  return r->ok() ? kExitOk : kExitAuditFailed;
}

}  // namespace

void add_storage_commands(CLI::App& app, std::function<int()>& run) {
  auto path = std::make_shared<std::string>();
  auto full = std::make_shared<bool>(false);
  CLI::App* inspect = app.add_subcommand(
      "inspect",
      "Print a data directory (or one .seg/.snap/raft_state/bft_state file) as JSON lines");
  inspect->add_option("path", *path, "Data directory or file")->required();
  inspect->add_flag("--payload", *full, "Print whole payloads (default: first 32 bytes)");
  inspect->callback(
      [&run, path, full] { run = [path, full] { return run_inspect(*path, *full); }; });

  auto dir = std::make_shared<std::string>();
  CLI::App* audit = app.add_subcommand(
      "audit",
      "Verify a data directory offline: checksums, the whole hash chain, snapshots.\n"
      "Exit code 0 if sound, 3 if a problem was found");
  audit->add_option("dir", *dir, "Data directory")->required();
  audit->callback([&run, dir] { run = [dir] { return run_audit(*dir); }; });
}

}  // namespace phalanx::cli
