#include "consensus/bft/types.h"

#include <algorithm>

#include "security/registry.h"
#include "security/verify.h"

namespace phalanx::bft {
namespace {

using codec::Reader;
using codec::Writer;

constexpr std::size_t kSignersMax = consensus::Quorum::kReplicasMax;

template <class Signer>
Status check_ascending(const std::vector<Signer>& signers, std::size_t at) {
  for (std::size_t i = 1; i < signers.size(); ++i) {
    if (!(signers[i - 1].id < signers[i].id)) {
      return Reader::malformed(MalformedReason::kNonCanonical, at);
    }
  }
  return {};
}

// A signer of a certificate must be a replica of the registry.
Result<const security::RegistryEntry*> replica_entry(const Validators& v, NodeId id) {
  const security::RegistryEntry* e = v.registry->find(Principal::replica(id));
  if (e == nullptr || e->role != Role::kReplica) {
    return fail(AuthenticationFailed{AuthFailure::kUnknownPrincipal, Principal::replica(id)});
  }
  return e;
}

Status check_count(std::size_t signers, const Validators& v) {
  if (!v.quorum.reached(signers)) {
    return fail(QuorumNotReached{static_cast<std::uint32_t>(signers), v.quorum.size()});
  }
  return {};
}

}  // namespace

namespace {

// Signers: strictly ascending ids, so one replica cannot count twice.
template <class Signer>
void encode_signers(Writer& w, const std::vector<Signer>& signers) {
  w.sequence(std::span<const Signer>(signers), kSignersMax,
             [](Writer& o, const Signer& s) { s.encode(o); });
}

template <class Signer>
Result<std::vector<Signer>> decode_signers(Reader& r) {
  const std::size_t at = r.offset();
  PHALANX_ASSIGN_OR_RETURN(
      std::vector<Signer> signers,
      r.sequence<Signer>(kSignersMax, [](Reader& in) { return Signer::decode(in); }));
  PHALANX_TRY(check_ascending(signers, at));
  return signers;
}

}  // namespace

void QcSigner::encode(Writer& w) const {
  w.id(id);
  w.fixed(signature);
}

Result<QcSigner> QcSigner::decode(Reader& r) {
  QcSigner s;
  PHALANX_ASSIGN_OR_RETURN(s.id, r.id<NodeId>());
  PHALANX_ASSIGN_OR_RETURN(s.signature, r.fixed<64>());
  return s;
}

void TcSigner::encode(Writer& w) const {
  w.id(id);
  w.id(high_qc_round);
  w.fixed(signature);
}

Result<TcSigner> TcSigner::decode(Reader& r) {
  TcSigner s;
  PHALANX_ASSIGN_OR_RETURN(s.id, r.id<NodeId>());
  PHALANX_ASSIGN_OR_RETURN(s.high_qc_round, r.id<Round>());
  PHALANX_ASSIGN_OR_RETURN(s.signature, r.fixed<64>());
  return s;
}

// ---- QuorumCert ----

void QuorumCert::encode(Writer& w) const {
  w.id(epoch);
  w.id(round);
  w.fixed(block);
  encode_signers(w, signers);
}

Result<QuorumCert> QuorumCert::decode(Reader& r) {
  QuorumCert qc;
  PHALANX_ASSIGN_OR_RETURN(qc.epoch, r.id<Epoch>());
  PHALANX_ASSIGN_OR_RETURN(qc.round, r.id<Round>());
  PHALANX_ASSIGN_OR_RETURN(qc.block, r.fixed<32>());
  PHALANX_ASSIGN_OR_RETURN(qc.signers, decode_signers<QcSigner>(r));
  return qc;
}

// ---- TimeoutCert ----

Round TimeoutCert::highest_qc_round() const {
  Round highest{0};
  for (const TcSigner& s : signers) highest = std::max(highest, s.high_qc_round);
  return highest;
}

void TimeoutCert::encode(Writer& w) const {
  w.id(epoch);
  w.id(round);
  encode_signers(w, signers);
}

Result<TimeoutCert> TimeoutCert::decode(Reader& r) {
  TimeoutCert tc;
  PHALANX_ASSIGN_OR_RETURN(tc.epoch, r.id<Epoch>());
  PHALANX_ASSIGN_OR_RETURN(tc.round, r.id<Round>());
  PHALANX_ASSIGN_OR_RETURN(tc.signers, decode_signers<TcSigner>(r));
  return tc;
}

// ---- Block ----

namespace {

// What a proposer signs, and what a block's id hashes.
void encode_header(Writer& w, Epoch epoch, Round round, NodeId proposer,
                   const crypto::Hash32& body) {
  w.id(epoch);
  w.id(round);
  w.id(proposer);
  w.fixed(body);
}

void encode_body(Writer& w, const Block& b) {
  b.qc.encode(w);
  w.optional(b.tc, [](Writer& o, const TimeoutCert& t) { t.encode(o); });
  w.sequence(std::span<const consensus::ClientRequest>(b.requests), kRequestsPerBlockMax,
             [](Writer& o, const consensus::ClientRequest& req) { req.encode(o); });
  w.sequence(std::span<const Accusation>(b.accusations), kAccusationsPerBlockMax,
             [](Writer& o, const Accusation& a) { a.encode(o); });
}

}  // namespace

crypto::Hash32 Block::body_digest() const {
  Writer w;
  encode_body(w, *this);
  return crypto::blake2b256(w.buffer());
}

void Block::encode_signed(Writer& w) const {
  encode_header(w, epoch, round, proposer, body_digest());
}

void Block::encode(Writer& w) const {
  w.id(epoch);
  w.id(round);
  encode_body(w, *this);
  w.id(proposer);
  w.fixed(signature);
}

BlockId Block::id() const { return crypto::blake2b256(security::signed_bytes(*this)); }

Result<Block> Block::decode(Reader& r) {
  Block b;
  PHALANX_ASSIGN_OR_RETURN(b.epoch, r.id<Epoch>());
  PHALANX_ASSIGN_OR_RETURN(b.round, r.id<Round>());
  PHALANX_ASSIGN_OR_RETURN(b.qc, QuorumCert::decode(r));
  PHALANX_ASSIGN_OR_RETURN(
      b.tc, r.optional<TimeoutCert>([](Reader& in) { return TimeoutCert::decode(in); }));
  PHALANX_ASSIGN_OR_RETURN(
      b.requests, r.sequence<consensus::ClientRequest>(kRequestsPerBlockMax, [](Reader& in) {
        return consensus::ClientRequest::decode(in);
      }));
  PHALANX_ASSIGN_OR_RETURN(
      b.accusations, r.sequence<Accusation>(kAccusationsPerBlockMax, [](Reader& in) {
        return Accusation::decode(in);
      }));
  PHALANX_ASSIGN_OR_RETURN(b.proposer, r.id<NodeId>());
  PHALANX_ASSIGN_OR_RETURN(b.signature, r.fixed<64>());
  return b;
}

QuorumCert genesis_qc(Epoch epoch) {
  return QuorumCert{epoch, Round{0}, genesis_block(epoch).id(), {}};
}

Block genesis_block(Epoch epoch) {
  return Block{.epoch = epoch,
               .round = Round{0},
               .qc = {epoch, Round{0}, BlockId{}, {}},
               .proposer = NodeId{0}};
}

// ---- Vote, Timeout ----

void Vote::encode_signed(Writer& w) const {
  w.id(epoch);
  w.id(round);
  w.fixed(block);
}

void Vote::encode(Writer& w) const {
  encode_signed(w);
  w.id(voter);
  w.fixed(signature);
}

Result<Vote> Vote::decode(Reader& r) {
  Vote v;
  PHALANX_ASSIGN_OR_RETURN(v.epoch, r.id<Epoch>());
  PHALANX_ASSIGN_OR_RETURN(v.round, r.id<Round>());
  PHALANX_ASSIGN_OR_RETURN(v.block, r.fixed<32>());
  PHALANX_ASSIGN_OR_RETURN(v.voter, r.id<NodeId>());
  PHALANX_ASSIGN_OR_RETURN(v.signature, r.fixed<64>());
  return v;
}

void Timeout::encode_signed(Writer& w) const {
  w.id(epoch);
  w.id(round);
  w.id(high_qc.round);
}

void Timeout::encode(Writer& w) const {
  w.id(epoch);
  w.id(round);
  high_qc.encode(w);
  w.id(author_id);
  w.fixed(signature);
  w.optional(last_tc, [](Writer& out, const TimeoutCert& tc) { tc.encode(out); });
}

Result<Timeout> Timeout::decode(Reader& r) {
  Timeout t;
  PHALANX_ASSIGN_OR_RETURN(t.epoch, r.id<Epoch>());
  PHALANX_ASSIGN_OR_RETURN(t.round, r.id<Round>());
  PHALANX_ASSIGN_OR_RETURN(t.high_qc, QuorumCert::decode(r));
  PHALANX_ASSIGN_OR_RETURN(t.author_id, r.id<NodeId>());
  PHALANX_ASSIGN_OR_RETURN(t.signature, r.fixed<64>());
  PHALANX_ASSIGN_OR_RETURN(
      t.last_tc, r.optional<TimeoutCert>([](Reader& in) { return TimeoutCert::decode(in); }));
  return t;
}

// ---- Statements and accusations ----

void Statement::encode(Writer& w) const {
  w.u8(static_cast<std::uint8_t>(kind));
  w.id(epoch);
  w.id(round);
  w.id(author);
  switch (kind) {
    case Kind::kProposal:
    case Kind::kVote: w.fixed(digest); break;
    case Kind::kTimeout: w.id(high_qc_round); break;
  }
  w.fixed(signature);
}

Result<Statement> Statement::decode(Reader& r) {
  Statement s;
  const std::size_t at = r.offset();
  PHALANX_ASSIGN_OR_RETURN(const std::uint8_t kind, r.u8());
  if (kind < 1 || kind > 3) return Reader::malformed(MalformedReason::kBadTag, at);
  s.kind = static_cast<Kind>(kind);
  PHALANX_ASSIGN_OR_RETURN(s.epoch, r.id<Epoch>());
  PHALANX_ASSIGN_OR_RETURN(s.round, r.id<Round>());
  PHALANX_ASSIGN_OR_RETURN(s.author, r.id<NodeId>());
  if (s.kind == Kind::kTimeout) {
    PHALANX_ASSIGN_OR_RETURN(s.high_qc_round, r.id<Round>());
  } else {
    PHALANX_ASSIGN_OR_RETURN(s.digest, r.fixed<32>());
  }
  PHALANX_ASSIGN_OR_RETURN(s.signature, r.fixed<64>());
  return s;
}

void Accusation::encode(Writer& w) const {
  first.encode(w);
  second.encode(w);
}

Result<Accusation> Accusation::decode(Reader& r) {
  Accusation a;
  PHALANX_ASSIGN_OR_RETURN(a.first, Statement::decode(r));
  PHALANX_ASSIGN_OR_RETURN(a.second, Statement::decode(r));
  return a;
}

Statement statement(const Block& b) {
  return {Statement::Kind::kProposal, b.epoch, b.round, b.proposer, b.body_digest(), {}, b.signature};
}

Statement statement(const Vote& v) {
  return {Statement::Kind::kVote, v.epoch, v.round, v.voter, v.block, {}, v.signature};
}

Statement statement(const Timeout& t) {
  return {Statement::Kind::kTimeout, t.epoch, t.round, t.author_id, {}, t.high_qc.round,
          t.signature};
}

namespace {

// The domain and bytes the statement's signature covers.
std::pair<SignDomain, Bytes> signed_form(const Statement& s) {
  Writer w;
  switch (s.kind) {
    case Statement::Kind::kProposal:
      encode_header(w, s.epoch, s.round, s.author, s.digest);
      return {Block::kDomain, w.take()};
    case Statement::Kind::kVote:
      return {Vote::kDomain, security::signed_bytes(Vote{s.epoch, s.round, s.digest, s.author})};
    case Statement::Kind::kTimeout:
      return {Timeout::kDomain,
              security::signed_bytes(Timeout{
                  s.epoch, s.round, QuorumCert{s.epoch, s.high_qc_round, {}, {}}, s.author})};
  }
  return {Block::kDomain, {}};
}

}  // namespace

std::optional<Accusation> accuse(const Statement& a, const Statement& b) {
  const bool same_slot = a.kind == b.kind && a.epoch == b.epoch && a.round == b.round &&
                         a.author == b.author;
  const Bytes x = signed_form(a).second;
  const Bytes y = signed_form(b).second;
  if (!same_slot || x == y) return std::nullopt;
  return x < y ? Accusation{a, b} : Accusation{b, a};
}

Result<Equivocation> verify_accusation(const Accusation& a, const Validators& v) {
  const Statement& x = a.first;
  const Statement& y = a.second;
  const bool same_slot = x.kind == y.kind && x.epoch == y.epoch && x.round == y.round &&
                         x.author == y.author && x.epoch == v.epoch;
  const auto [domain, first] = signed_form(x);
  const Bytes second = signed_form(y).second;
  // Ascending signed bytes: the same pair in the other order is not a second proof.
  if (!same_slot || !(first < second)) {
    return fail(MalformedInput{MalformedReason::kNonCanonical, 0});
  }
  PHALANX_ASSIGN_OR_RETURN(const security::RegistryEntry* e, replica_entry(v, x.author));
  if (!crypto::verify(e->public_key, domain, first, x.signature) ||
      !crypto::verify(e->public_key, domain, second, y.signature)) {
    return fail(SignatureInvalid{domain, Principal::replica(x.author)});
  }
  return Equivocation{Principal::replica(x.author), x.epoch, x.round};
}

// ---- Certificate verification ----

Status verify_qc(const QuorumCert& qc, const Validators& v) {
  if (qc.epoch != v.epoch) return fail(QuorumNotReached{0, v.quorum.size()});
  if (qc.genesis()) {
    if (qc == genesis_qc(v.epoch)) return {};
    return fail(QuorumNotReached{0, v.quorum.size()});
  }
  return verify_quorum_signatures(qc.signers, Vote::kDomain,
                                  security::signed_bytes(Vote{qc.epoch, qc.round, qc.block, NodeId{0}}),
                                  v);
}

Status verify_quorum_signatures(const std::vector<QcSigner>& signers, SignDomain domain,
                                ByteView signed_bytes, const Validators& v) {
  PHALANX_TRY(check_count(signers.size(), v));
  for (const QcSigner& s : signers) {
    PHALANX_ASSIGN_OR_RETURN(const security::RegistryEntry* e, replica_entry(v, s.id));
    if (!crypto::verify(e->public_key, domain, signed_bytes, s.signature)) {
      return fail(SignatureInvalid{domain, Principal::replica(s.id)});
    }
  }
  return {};
}

void encode_qc_signers(Writer& w, const std::vector<QcSigner>& signers) {
  encode_signers(w, signers);
}

Result<std::vector<QcSigner>> decode_qc_signers(Reader& r) { return decode_signers<QcSigner>(r); }

Status verify_tc(const TimeoutCert& tc, const Validators& v) {
  if (tc.epoch != v.epoch) return fail(QuorumNotReached{0, v.quorum.size()});
  PHALANX_TRY(check_count(tc.signers.size(), v));
  for (const TcSigner& s : tc.signers) {
    PHALANX_ASSIGN_OR_RETURN(const security::RegistryEntry* e, replica_entry(v, s.id));
    Timeout t{tc.epoch, tc.round, QuorumCert{tc.epoch, s.high_qc_round, {}, {}}, s.id};
    if (!crypto::verify(e->public_key, Timeout::kDomain, security::signed_bytes(t), s.signature)) {
      return fail(SignatureInvalid{Timeout::kDomain, Principal::replica(s.id)});
    }
  }
  return {};
}

}  // namespace phalanx::bft
