// The file that holds what a replica must never forget: the promises it made
// before answering (raft::HardState; bft::SafetyData, docs/protocol-bft.md).
// Any State with encode() and a static decode() is saved with write_atomic()
// and must be on disk before the vote or acknowledgement that depends on it
// leaves the node.
#pragma once

#include <optional>
#include <string>

#include "core/codec.h"
#include "storage/atomic_file.h"

namespace phalanx::storage {

inline constexpr std::size_t kHardStateBytesMax = 4 << 20;

template <class State>
[[nodiscard]] Status save_hard_state(FileSystem& fs, const std::string& path, const State& s) {
  return write_atomic(fs, path, codec::encode(s));
}

// nullopt on a fresh replica (no file yet); kCorruption if damaged. What it
// returns is durable (a promise read back is a promise kept).
template <class State>
[[nodiscard]] Result<std::optional<State>> load_hard_state(FileSystem& fs,
                                                           const std::string& path) {
  PHALANX_ASSIGN_OR_RETURN(std::optional<Bytes> bytes, read_atomic(fs, path, kHardStateBytesMax));
  if (!bytes) return std::optional<State>{};
  PHALANX_TRY(make_durable(fs, path));
  Result<State> state = codec::decode<State>(*bytes);
  if (!state) {
    return fail(ErrorCode::kCorruption,
                path + ": undecodable hard state: " + state.error().message());
  }
  return std::optional<State>(std::move(*state));
}

}  // namespace phalanx::storage
