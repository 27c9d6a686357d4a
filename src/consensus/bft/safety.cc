#include "consensus/bft/safety.h"

#include "security/verify.h"

namespace phalanx::bft {

void SafetyData::encode(codec::Writer& w) const {
  w.id(epoch);
  w.id(last_voted_round);
  w.id(locked_round);
  w.optional(last_vote, [](codec::Writer& o, const Vote& v) { v.encode(o); });
  w.optional(last_timeout, [](codec::Writer& o, const Timeout& t) { t.encode(o); });
  w.optional(lock_qc, [](codec::Writer& o, const QuorumCert& qc) { qc.encode(o); });
  w.optional(last_tc, [](codec::Writer& o, const TimeoutCert& tc) { tc.encode(o); });
}

Result<SafetyData> SafetyData::decode(codec::Reader& r) {
  SafetyData d;
  PHALANX_ASSIGN_OR_RETURN(d.epoch, r.id<Epoch>());
  PHALANX_ASSIGN_OR_RETURN(d.last_voted_round, r.id<Round>());
  PHALANX_ASSIGN_OR_RETURN(d.locked_round, r.id<Round>());
  PHALANX_ASSIGN_OR_RETURN(d.last_vote,
                           r.optional<Vote>([](codec::Reader& in) { return Vote::decode(in); }));
  PHALANX_ASSIGN_OR_RETURN(
      d.last_timeout, r.optional<Timeout>([](codec::Reader& in) { return Timeout::decode(in); }));
  PHALANX_ASSIGN_OR_RETURN(
      d.lock_qc, r.optional<QuorumCert>([](codec::Reader& in) { return QuorumCert::decode(in); }));
  PHALANX_ASSIGN_OR_RETURN(d.last_tc, r.optional<TimeoutCert>([](codec::Reader& in) {
    return TimeoutCert::decode(in);
  }));
  return d;
}

const char* refusal_name(Refusal refusal) {
  switch (refusal) {
    case Refusal::kWrongEpoch: return "wrong epoch";
    case Refusal::kRoundNotAfterLastVote: return "round not after the last vote";
    case Refusal::kNotJustified: return "round not justified by a QC or TC";
    case Refusal::kQcBelowTimeoutCert: return "QC below the TC's highest QC";
    case Refusal::kTimeoutRoundNotJustified: return "timeout round not justified";
    case Refusal::kHighQcBelowLock: return "high QC below the lock";
    case Refusal::kTimeoutRoundPast: return "timeout round before the last vote";
  }
  return "unknown";
}

bool SafetyData::consistent() const {
  const auto at_most_voted = [&](const auto& promise) {
    return !promise || (promise->epoch == epoch && promise->round <= last_voted_round);
  };
  const bool lock_matches = lock_qc ? lock_qc->round == locked_round : locked_round == Round{0};
  return locked_round <= last_voted_round && lock_matches && at_most_voted(last_vote) &&
         at_most_voted(last_timeout);
}

SafetyRules::SafetyRules(NodeId self, crypto::KeyPair key, SafetyData data)
    : self_(self), key_(std::move(key)), data_(std::move(data)) {
  PHALANX_ASSERT(data_.consistent());  // the runner refuses inconsistent stored data
}

void SafetyRules::check_kept(Round voted_before, Round locked_before) const {
  PHALANX_ASSERT(data_.consistent());
  PHALANX_ASSERT(data_.last_voted_round >= voted_before);
  PHALANX_ASSERT(data_.locked_round >= locked_before);
}

Expected<Vote, Refusal> SafetyRules::vote(const Block& block) {
  if (block.epoch != data_.epoch) return Unexpected(Refusal::kWrongEpoch);
  const BlockId id = block.id();
  if (data_.last_vote && data_.last_vote->round == block.round && data_.last_vote->block == id) {
    return *data_.last_vote;  // a re-request: the same vote, nothing new promised
  }
  // Rule 1: at most one vote per round, rounds only increase.
  if (block.round <= data_.last_voted_round) return Unexpected(Refusal::kRoundNotAfterLastVote);
  // Rule 2: extend the certificate of the round just before, or, after a
  // timeout of that round, a QC at least as high as any the TC reports.
  if (block.round != block.qc.round.next()) {
    if (!block.tc || block.round != block.tc->round.next()) {
      return Unexpected(Refusal::kNotJustified);
    }
    if (block.qc.round < block.tc->highest_qc_round()) {
      return Unexpected(Refusal::kQcBelowTimeoutCert);
    }
  }
  Vote v{data_.epoch, block.round, id, self_};
  security::sign(v, key_);
  const Round voted_before = data_.last_voted_round;
  const Round locked_before = data_.locked_round;
  data_.last_voted_round = block.round;
  if (!data_.lock_qc || block.qc.round > data_.lock_qc->round) data_.lock_qc = block.qc;
  data_.locked_round = std::max(data_.locked_round, block.qc.round);
  remember(block.tc);
  data_.last_vote = v;
  check_kept(voted_before, locked_before);
  PHALANX_ASSERT(data_.last_voted_round > voted_before);  // one vote per round
  return v;
}

void SafetyRules::remember(const std::optional<TimeoutCert>& tc) {
  if (tc && (!data_.last_tc || tc->round > data_.last_tc->round)) data_.last_tc = tc;
}

Expected<void, Refusal> SafetyRules::sign_proposal(Block& block) const {
  if (block.epoch != data_.epoch) return Unexpected(Refusal::kWrongEpoch);
  if (block.round <= data_.last_voted_round) return Unexpected(Refusal::kRoundNotAfterLastVote);
  block.proposer = self_;
  security::sign(block, key_);
  return {};
}

Expected<Timeout, Refusal> SafetyRules::timeout(Round round, const QuorumCert& high_qc,
                                                const std::optional<TimeoutCert>& last_tc) {
  if (high_qc.epoch != data_.epoch) return Unexpected(Refusal::kWrongEpoch);
  if (data_.last_timeout && data_.last_timeout->round == round) return *data_.last_timeout;
  if (round < data_.last_voted_round) return Unexpected(Refusal::kTimeoutRoundPast);
  const bool after_qc = round == high_qc.round.next();
  const bool after_tc = last_tc && round == last_tc->round.next();
  if (!after_qc && !after_tc) return Unexpected(Refusal::kTimeoutRoundNotJustified);
  if (high_qc.round < data_.locked_round) return Unexpected(Refusal::kHighQcBelowLock);
  Timeout t{data_.epoch, round, high_qc, self_};
  security::sign(t, key_);
  const Round voted_before = data_.last_voted_round;
  const Round locked_before = data_.locked_round;
  // No vote in a round this replica has given up on.
  data_.last_voted_round = std::max(data_.last_voted_round, round);
  data_.last_timeout = t;
  remember(last_tc);
  check_kept(voted_before, locked_before);
  return t;
}

}  // namespace phalanx::bft
