// What a Raft replica must never forget: the current term, the vote cast in
// it, and the commit index. Persisted (storage/hard_state.h) before the vote
// or acknowledgement that depends on it leaves the node.
#pragma once

#include <optional>

#include "core/codec.h"
#include "core/ids.h"

namespace phalanx::raft {

struct HardState {
  Term term;
  std::optional<NodeId> voted_for;
  LogIndex commit;

  void encode(codec::Writer& w) const;
  [[nodiscard]] static Result<HardState> decode(codec::Reader& r);
  bool operator==(const HardState&) const = default;
};

}  // namespace phalanx::raft
