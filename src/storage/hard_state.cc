#include "storage/hard_state.h"

namespace phalanx::storage {

void RaftHardState::encode(codec::Writer& w) const {
  w.id(term);
  w.optional(voted_for, [](codec::Writer& out, NodeId n) { out.id(n); });
  w.id(commit);
}

Result<RaftHardState> RaftHardState::decode(codec::Reader& r) {
  RaftHardState s;
  PHALANX_ASSIGN_OR_RETURN(s.term, r.id<Term>());
  PHALANX_ASSIGN_OR_RETURN(s.voted_for,
                           r.optional<NodeId>([](codec::Reader& in) { return in.id<NodeId>(); }));
  PHALANX_ASSIGN_OR_RETURN(s.commit, r.id<LogIndex>());
  return s;
}

void BftSafetyState::encode(codec::Writer& w) const {
  w.id(epoch);
  w.id(last_voted_round);
  w.id(locked_round);
  w.bytes(last_vote, kCertificateBytesMax);
  w.bytes(last_timeout, kCertificateBytesMax);
  w.bytes(lock_qc, kCertificateBytesMax);
  w.bytes(last_tc, kCertificateBytesMax);
}

Result<BftSafetyState> BftSafetyState::decode(codec::Reader& r) {
  BftSafetyState s;
  PHALANX_ASSIGN_OR_RETURN(s.epoch, r.id<Epoch>());
  PHALANX_ASSIGN_OR_RETURN(s.last_voted_round, r.id<Round>());
  PHALANX_ASSIGN_OR_RETURN(s.locked_round, r.id<Round>());
  PHALANX_ASSIGN_OR_RETURN(s.last_vote, r.bytes(kCertificateBytesMax));
  PHALANX_ASSIGN_OR_RETURN(s.last_timeout, r.bytes(kCertificateBytesMax));
  PHALANX_ASSIGN_OR_RETURN(s.lock_qc, r.bytes(kCertificateBytesMax));
  PHALANX_ASSIGN_OR_RETURN(s.last_tc, r.bytes(kCertificateBytesMax));
  return s;
}

}  // namespace phalanx::storage
