// Byzantine mode: blocks, votes, certificates and timeouts (Jolteon /
// DiemBFT-v4). Rules and the safety argument: docs/protocol-bft.md.
//
// Everything a replica sends is signed under its own domain, and a
// certificate is only as good as verify_qc()/verify_tc() say: q distinct
// registered replicas, every signature checked.
//
//   Block b{.epoch = e, .round = r, .qc = high_qc, .requests = batch, .proposer = me};
//   security::sign(b, key);
//   BlockId id = b.id();
#pragma once

#include <optional>
#include <vector>

#include "consensus/common/client_request.h"
#include "consensus/common/quorum.h"
#include "core/codec.h"
#include "core/ids.h"
#include "core/principal.h"
#include "crypto/hash.h"
#include "crypto/keys.h"

namespace phalanx::security {
class TrustRegistry;
}

namespace phalanx::bft {

using BlockId = crypto::Hash32;

inline constexpr std::size_t kRequestsPerBlockMax = 4096;

// A replica's signature inside a certificate.
struct QcSigner {
  NodeId id;
  crypto::Signature signature;

  void encode(codec::Writer& w) const;
  [[nodiscard]] static Result<QcSigner> decode(codec::Reader& r);
  bool operator==(const QcSigner&) const = default;
};

// q votes for one block. Round 0 is the genesis certificate: it certifies
// the genesis block and carries no signatures.
struct QuorumCert {
  Epoch epoch;
  Round round;
  BlockId block;
  std::vector<QcSigner> signers;  // strictly ascending ids

  [[nodiscard]] bool genesis() const { return round == Round{0}; }
  void encode(codec::Writer& w) const;
  [[nodiscard]] static Result<QuorumCert> decode(codec::Reader& r);
  bool operator==(const QuorumCert&) const = default;
};

struct TcSigner {
  NodeId id;
  Round high_qc_round;  // the round of the signer's high QC, which its signature covers
  crypto::Signature signature;

  void encode(codec::Writer& w) const;
  [[nodiscard]] static Result<TcSigner> decode(codec::Reader& r);
  bool operator==(const TcSigner&) const = default;
};

// q timeouts for one round: the round ends without a certified block.
struct TimeoutCert {
  Epoch epoch;
  Round round;
  std::vector<TcSigner> signers;  // strictly ascending ids

  // The highest QC round any signer reported; a proposal after this TC must
  // extend a QC at least this high.
  [[nodiscard]] Round highest_qc_round() const;
  void encode(codec::Writer& w) const;
  [[nodiscard]] static Result<TimeoutCert> decode(codec::Reader& r);
  bool operator==(const TimeoutCert&) const = default;
};

// One signed statement of a replica, reduced to what its signature covers:
// enough to prove that two statements conflict without the messages
// themselves (a block may be megabytes; its statement is ~150 bytes).
struct Statement {
  enum class Kind : std::uint8_t { kProposal = 1, kVote = 2, kTimeout = 3 };

  Kind kind = Kind::kProposal;
  Epoch epoch;
  Round round;
  NodeId author;
  crypto::Hash32 digest = {};  // proposal: its body digest; vote: the block voted for
  Round high_qc_round = {};    // timeout: the high-QC round it signed
  crypto::Signature signature = {};

  void encode(codec::Writer& w) const;
  [[nodiscard]] static Result<Statement> decode(codec::Reader& r);
  bool operator==(const Statement&) const = default;
};

// Two validly signed statements of one author, of one kind, for one (epoch,
// round), that differ: proof of equivocation anyone can check. Carried in
// blocks; once committed, the author leaves the leader rotation.
struct Accusation {
  Statement first;
  Statement second;

  [[nodiscard]] NodeId accused() const { return first.author; }
  void encode(codec::Writer& w) const;
  [[nodiscard]] static Result<Accusation> decode(codec::Reader& r);
  bool operator==(const Accusation&) const = default;
};

inline constexpr std::size_t kAccusationsPerBlockMax = 16;

// A proposal. Its parent is the block its QC certifies (qc.block), so a
// block cannot name one parent and carry a certificate for another.
//
// The proposer signs a header: (epoch, round, proposer, body digest), the
// digest being BLAKE2b-256 of the encoded QC, TC, requests and accusations.
// The block's id is the hash of that header, and a proof of equivocation
// needs only the two headers and signatures.
struct Block {
  static constexpr SignDomain kDomain = SignDomain::kProposal;
  static constexpr Action kAction = Action::kPropose;

  Epoch epoch;
  Round round;
  QuorumCert qc;
  std::optional<TimeoutCert> tc =
      {};  // set when round = tc.round + 1 (the previous round timed out)
  std::vector<consensus::ClientRequest> requests = {};
  std::vector<Accusation> accusations = {};  // proofs of equivocation not yet committed
  NodeId proposer;
  crypto::Signature signature = {};

  [[nodiscard]] BlockId parent() const { return qc.block; }
  // BLAKE2b-256 of the QC, TC, requests and accusations.
  [[nodiscard]] crypto::Hash32 body_digest() const;
  // BLAKE2b-256 of the signed header.
  [[nodiscard]] BlockId id() const;
  [[nodiscard]] Principal author() const { return Principal::replica(proposer); }
  void encode_signed(codec::Writer& w) const;
  void encode(codec::Writer& w) const;
  [[nodiscard]] static Result<Block> decode(codec::Reader& r);
  bool operator==(const Block&) const = default;
};

// The genesis block every chain starts from (round 0, no requests, unsigned).
[[nodiscard]] Block genesis_block(Epoch epoch);
[[nodiscard]] QuorumCert genesis_qc(Epoch epoch);

struct Vote {
  static constexpr SignDomain kDomain = SignDomain::kVote;
  static constexpr Action kAction = Action::kVote;

  Epoch epoch;
  Round round;
  BlockId block;
  NodeId voter;
  crypto::Signature signature = {};

  [[nodiscard]] Principal author() const { return Principal::replica(voter); }
  void encode_signed(codec::Writer& w) const;
  void encode(codec::Writer& w) const;
  [[nodiscard]] static Result<Vote> decode(codec::Reader& r);
  bool operator==(const Vote&) const = default;
};

// "Round `round` is over for me; my highest certified block is high_qc."
// The signature covers (epoch, round, high_qc.round), so timeouts with
// different high QCs still aggregate into one TC.
struct Timeout {
  static constexpr SignDomain kDomain = SignDomain::kTimeout;
  static constexpr Action kAction = Action::kTimeout;

  Epoch epoch;
  Round round;
  QuorumCert high_qc;
  NodeId author_id;
  crypto::Signature signature = {};
  // The author's newest TC, unsigned (it proves itself): a replica still in
  // an earlier round catches up with it instead of timing out alone.
  std::optional<TimeoutCert> last_tc = {};

  [[nodiscard]] Principal author() const { return Principal::replica(author_id); }
  void encode_signed(codec::Writer& w) const;
  void encode(codec::Writer& w) const;
  [[nodiscard]] static Result<Timeout> decode(codec::Reader& r);
  bool operator==(const Timeout&) const = default;
};

// The replicas of an epoch and its quorum.
struct Validators {
  const security::TrustRegistry* registry = nullptr;  // keys and roles
  consensus::Quorum quorum;
  Epoch epoch;
};

// q distinct replicas of the registry, each signature valid for a Vote on
// (epoch, round, block). Errors: QuorumNotReached (too few signers),
// AuthenticationFailed (a signer unknown or not a replica), SignatureInvalid.
// The genesis QC of the epoch passes with no signers; any other round-0 QC fails.
[[nodiscard]] Status verify_qc(const QuorumCert& qc, const Validators& validators);
// The check behind QCs and checkpoint certificates: q distinct registered
// replicas, each signature valid on `signed_bytes` under `domain`.
[[nodiscard]] Status verify_quorum_signatures(const std::vector<QcSigner>& signers,
                                              SignDomain domain, ByteView signed_bytes,
                                              const Validators& validators);
// A certificate's signers, strictly ascending ids (kNonCanonical otherwise).
void encode_qc_signers(codec::Writer& w, const std::vector<QcSigner>& signers);
[[nodiscard]] Result<std::vector<QcSigner>> decode_qc_signers(codec::Reader& r);
// Likewise for a TC: each signature is a Timeout's on (epoch, round, high_qc_round).
[[nodiscard]] Status verify_tc(const TimeoutCert& tc, const Validators& validators);

// The statement a signed block, vote or timeout makes.
[[nodiscard]] Statement statement(const Block& block);
[[nodiscard]] Statement statement(const Vote& vote);
[[nodiscard]] Statement statement(const Timeout& timeout);

// The accusation two conflicting statements make, in canonical order;
// nullopt if they do not conflict (another author, kind, epoch or round, or the same).
[[nodiscard]] std::optional<Accusation> accuse(const Statement& a, const Statement& b);

// Proof that `accusation.accused()` equivocated in `validators.epoch`.
// Errors: MalformedInput (kNonCanonical) if the statements are not of one
// author, kind, epoch and round, or do not differ, or are not in ascending
// order (so one equivocation has one proof); AuthenticationFailed if the
// author is not a replica; SignatureInvalid if either signature fails.
[[nodiscard]] Result<Equivocation> verify_accusation(const Accusation& accusation,
                                                     const Validators& validators);

}  // namespace phalanx::bft
