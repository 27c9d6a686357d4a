// Where a replica keeps its files (docs/storage.md).
#pragma once

#include <string>

#include "storage/file_system.h"

namespace phalanx::storage {

inline std::string wal_dir(const std::string& data_dir) { return join_path(data_dir, "wal"); }
inline std::string raft_state_path(const std::string& data_dir) {
  return join_path(data_dir, "raft_state");
}
inline std::string bft_state_path(const std::string& data_dir) {
  return join_path(data_dir, "bft_state");
}
inline std::string snapshot_dir(const std::string& data_dir) {
  return join_path(data_dir, "snapshots");
}

}  // namespace phalanx::storage
