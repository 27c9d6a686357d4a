// Offline verification of a data directory (`phalanx audit DIR`).
//
// Re-reads everything without changing anything: every record checksum, the
// whole hash chain across segments, the hard state, and the newest snapshot
// (every chunk against its hash, the manifest root), and checks that the
// snapshot and the log agree where they meet. Findings name the file, the
// byte offset and what is wrong; torn tails (what the next open would
// truncate) are findings too, but not failures.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/ids.h"
#include "crypto/hash.h"
#include "storage/file_system.h"

namespace phalanx::node {

struct AuditFinding {
  std::string file;
  std::uint64_t offset = 0;
  std::string problem;
  bool fatal = true;
};

struct AuditReport {
  std::uint64_t segments = 0;
  std::uint64_t records = 0;
  std::optional<LogIndex> first_index;
  std::optional<LogIndex> last_index;
  crypto::Hash32 head;  // hash of the last verified entry
  std::vector<std::string> hard_state_files;
  std::optional<LogIndex> snapshot_index;
  std::string snapshot_file;
  std::vector<AuditFinding> findings;

  [[nodiscard]] bool ok() const;
};

// kNotFound if `data_dir` does not exist; otherwise a report (which may hold
// findings).
[[nodiscard]] Result<AuditReport> audit_data_dir(storage::FileSystem& fs,
                                                 const std::string& data_dir);

}  // namespace phalanx::node
