// What a replica must never forget: the promises it made before answering.
//
// Raft: the current term, the vote cast in it, and the commit index.
// BFT (Jolteon rules, docs/protocol-bft.md): the last round voted or timed
// out in, the lock (highest parent-QC round voted on top of), and the last
// vote and timeout themselves (a re-request for that round gets the same
// one, never a new one).
//
// Both are written with write_atomic() and must be on disk before the vote
// or acknowledgement that depends on them leaves the node.
#pragma once

#include <optional>
#include <string>

#include "core/codec.h"
#include "core/ids.h"
#include "storage/atomic_file.h"

namespace phalanx::storage {

struct RaftHardState {
  Term term;
  std::optional<NodeId> voted_for;
  LogIndex commit;

  void encode(codec::Writer& w) const;
  [[nodiscard]] static Result<RaftHardState> decode(codec::Reader& r);
  bool operator==(const RaftHardState&) const = default;
};

struct BftSafetyState {
  static constexpr std::size_t kCertificateBytesMax = 1 << 20;

  Epoch epoch;
  Round last_voted_round;
  Round locked_round;
  Bytes last_vote;     // encoded signed vote (consensus layer's format); empty: none
  Bytes last_timeout;  // encoded signed timeout; empty: none
  Bytes lock_qc;       // encoded quorum certificate behind the lock; empty: none
  Bytes last_tc;       // encoded newest timeout certificate used; empty: none

  void encode(codec::Writer& w) const;
  [[nodiscard]] static Result<BftSafetyState> decode(codec::Reader& r);
  bool operator==(const BftSafetyState&) const = default;
};

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
