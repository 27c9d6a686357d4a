#include "consensus/raft/hard_state.h"

namespace phalanx::raft {

void HardState::encode(codec::Writer& w) const {
  w.id(term);
  w.optional(voted_for, [](codec::Writer& out, NodeId n) { out.id(n); });
  w.id(commit);
}

Result<HardState> HardState::decode(codec::Reader& r) {
  HardState s;
  PHALANX_ASSIGN_OR_RETURN(s.term, r.id<Term>());
  PHALANX_ASSIGN_OR_RETURN(s.voted_for,
                           r.optional<NodeId>([](codec::Reader& in) { return in.id<NodeId>(); }));
  PHALANX_ASSIGN_OR_RETURN(s.commit, r.id<LogIndex>());
  return s;
}

}  // namespace phalanx::raft
