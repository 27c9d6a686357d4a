// The voting and timeout rules of Jolteon / DiemBFT-v4 (docs/protocol-bft.md),
// over the state a replica must never forget. Pure apart from signing.
//
//   SafetyRules rules(self, key, recovered_data);
//   Expected<Vote, Refusal> v = rules.vote(verified_block);
//   if (v) { persist(rules.data()); /* fsync */ send(*v); }
//
// The caller verifies the block first (signature, certificates, requests);
// these rules decide only whether voting for it could ever help build two
// conflicting commits.
#pragma once

#include <optional>

#include "consensus/bft/types.h"
#include "core/expected.h"

namespace phalanx::bft {

// Everything here must be durable before a vote or timeout that changed it
// leaves the replica.
struct SafetyData {
  Epoch epoch;
  Round last_voted_round;  // the highest round voted or timed out in
  Round locked_round;      // the highest QC round of a block voted for
  std::optional<Vote> last_vote = {};
  std::optional<Timeout> last_timeout = {};
  // The certificates behind these promises. A restarted replica needs them
  // to time out again: a timeout must carry a QC at least as high as the
  // lock, and a round entered by a TC is timed out with that TC.
  std::optional<QuorumCert> lock_qc = {};   // the QC of the highest-QC block voted for
  std::optional<TimeoutCert> last_tc = {};  // the newest TC voted or timed out on

  // What the rules keep true: the lock is at most the last voted round, the
  // lock's QC (if any) is of the locked round, and the last vote and timeout
  // (if any) are of rounds at most the last voted one, in this epoch.
  [[nodiscard]] bool consistent() const;

  void encode(codec::Writer& w) const;
  [[nodiscard]] static Result<SafetyData> decode(codec::Reader& r);
  bool operator==(const SafetyData&) const = default;
};

enum class Refusal : std::uint8_t {
  kWrongEpoch,                // the block or timeout is for another epoch
  kRoundNotAfterLastVote,     // block round <= last voted round (a second vote in a round)
  kNotJustified,              // block round != qc.round + 1 and no TC for the round before
  kQcBelowTimeoutCert,        // after a TC: the block's QC is below the TC's highest QC
  kTimeoutRoundNotJustified,  // timeout round != high_qc.round + 1 and != last_tc.round + 1
  kHighQcBelowLock,           // a timeout whose high QC is below the lock
  kTimeoutRoundPast,          // timeout round < last voted round
};
[[nodiscard]] const char* refusal_name(Refusal refusal);

class SafetyRules {
 public:
  SafetyRules(NodeId self, crypto::KeyPair key, SafetyData data);

  // Votes for a verified block. Asked again for the block it already voted
  // for in that round, it returns the same vote and changes nothing.
  // On success with a changed data(): persist before sending.
  [[nodiscard]] Expected<Vote, Refusal> vote(const Block& block);
  // Signs a timeout for `round`. Asked again for that round, it returns the
  // same timeout (never a second, conflicting one).
  [[nodiscard]] Expected<Timeout, Refusal> timeout(Round round, const QuorumCert& high_qc,
                                                   const std::optional<TimeoutCert>& last_tc);

  // Signs this replica's proposal. Refused (kRoundNotAfterLastVote) in a
  // round it has already voted or timed out in, so a restarted leader never
  // proposes a second, conflicting block for a round.
  [[nodiscard]] Expected<void, Refusal> sign_proposal(Block& block) const;

  [[nodiscard]] const SafetyData& data() const { return data_; }

 private:
  void remember(const std::optional<TimeoutCert>& tc);
  // Postconditions of a vote or timeout (always on): the data stays
  // consistent(), and no promise is taken back (the last voted and the
  // locked round never go down).
  void check_kept(Round voted_before, Round locked_before) const;

  NodeId self_;
  crypto::KeyPair key_;
  SafetyData data_;
};

}  // namespace phalanx::bft
