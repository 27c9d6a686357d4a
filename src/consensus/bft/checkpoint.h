// Checkpoints: every `interval` committed blocks each replica signs the root
// of its replicated state; q matching signatures form a checkpoint
// certificate — a proof, checkable by anyone holding the replicas' keys,
// that the state after height h is the one with that root. A replica that
// signed another root for a certified height is reported as diverged, with
// its own signature as the evidence.
//
//   CheckpointTracker t(validators, self);
//   t.add(verified_checkpoint);            // own and peers'
//   for (CheckpointCert& c : t.take_certified()) persist(c);
//   for (Divergence& d : t.take_divergences()) report(d);
#pragma once

#include <map>
#include <optional>
#include <set>
#include <vector>

#include "consensus/bft/leaders.h"
#include "consensus/bft/types.h"

namespace phalanx::bft {

// The root a checkpoint signs: BLAKE2b-256 over the height, the last
// committed block, the number of requests the committed blocks held (the
// log index the next one is applied at), the application's digest (its data
// and session table) and the leader schedule — everything the replicated
// state holds, so a replica installing a certified snapshot resumes exactly
// where the signers are.
[[nodiscard]] crypto::Hash32 state_root(std::uint64_t height, const BlockId& block,
                                        std::uint64_t requests, const crypto::Hash32& app_digest,
                                        const LeaderSchedule& schedule);

// "After committing `height` blocks, ending with `block`, my state root is `root`."
struct Checkpoint {
  static constexpr SignDomain kDomain = SignDomain::kCheckpoint;
  static constexpr Action kAction = Action::kCheckpoint;

  Epoch epoch;
  std::uint64_t height = 0;
  BlockId block;
  crypto::Hash32 root;
  NodeId signer;
  crypto::Signature signature = {};

  [[nodiscard]] Principal author() const { return Principal::replica(signer); }
  void encode_signed(codec::Writer& w) const;
  void encode(codec::Writer& w) const;
  [[nodiscard]] static Result<Checkpoint> decode(codec::Reader& r);
  bool operator==(const Checkpoint&) const = default;
};

struct CheckpointCert {
  Epoch epoch;
  std::uint64_t height = 0;
  BlockId block;
  crypto::Hash32 root;
  std::vector<QcSigner> signers;  // strictly ascending ids

  void encode(codec::Writer& w) const;
  [[nodiscard]] static Result<CheckpointCert> decode(codec::Reader& r);
  bool operator==(const CheckpointCert&) const = default;
};

// q distinct replicas, each signature a Checkpoint's on (epoch, height,
// block, root). Errors as verify_qc: QuorumNotReached, AuthenticationFailed,
// SignatureInvalid.
[[nodiscard]] Status verify_checkpoint_cert(const CheckpointCert& cert,
                                            const Validators& validators);

// A replica that signed a root other than the certified one for a height.
struct Divergence {
  NodeId replica;
  Checkpoint signed_checkpoint;  // the replica's own signature on its root
  CheckpointCert certified;      // q replicas' signatures on another

  void encode(codec::Writer& w) const;
  [[nodiscard]] static Result<Divergence> decode(codec::Reader& r);
  bool operator==(const Divergence&) const = default;
};

class CheckpointTracker {
 public:
  // Heights kept uncertified at once; older ones are dropped (a height that
  // never gathers q matching signatures is one a partition split).
  static constexpr std::size_t kPendingHeightsMax = 8;

  explicit CheckpointTracker(Validators validators) : validators_(validators) {}

  // A checkpoint whose signature the caller verified. Ignored if for
  // another epoch, or at or below the last certified height unless it
  // contradicts that certificate (then it is a divergence).
  void add(const Checkpoint& checkpoint);
  // A certificate received from a peer (e.g. with a state transfer).
  // Errors as verify_checkpoint_cert.
  [[nodiscard]] Status add_certificate(const CheckpointCert& cert);

  [[nodiscard]] const std::optional<CheckpointCert>& latest() const { return latest_; }
  [[nodiscard]] std::vector<CheckpointCert> take_certified() { return std::exchange(certified_, {}); }
  [[nodiscard]] std::vector<Divergence> take_divergences() {
    return std::exchange(divergences_, {});
  }

 private:
  void certify(CheckpointCert cert);
  void check_against(const CheckpointCert& cert, const Checkpoint& c);

  Validators validators_;
  // height -> (block, root) -> signer -> checkpoint
  std::map<std::uint64_t, std::map<std::pair<BlockId, crypto::Hash32>, std::map<NodeId, Checkpoint>>>
      pending_;
  std::optional<CheckpointCert> latest_;
  std::set<NodeId> reported_;  // diverged at the latest certified height
  std::vector<CheckpointCert> certified_;
  std::vector<Divergence> divergences_;
};

}  // namespace phalanx::bft
