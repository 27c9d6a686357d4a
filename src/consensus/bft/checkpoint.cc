#include "consensus/bft/checkpoint.h"

#include "security/verify.h"

namespace phalanx::bft {

using codec::Reader;
using codec::Writer;

crypto::Hash32 state_root(std::uint64_t height, const BlockId& block, std::uint64_t requests,
                          const crypto::Hash32& app_digest, const LeaderSchedule& schedule) {
  Writer w;
  w.string("phalanx/v1/state-root", 64);
  w.varint(height);
  w.fixed(block);
  w.varint(requests);
  w.fixed(app_digest);
  schedule.encode(w);
  return crypto::blake2b256(w.buffer());
}

void Checkpoint::encode_signed(Writer& w) const {
  w.id(epoch);
  w.varint(height);
  w.fixed(block);
  w.fixed(root);
}

void Checkpoint::encode(Writer& w) const {
  encode_signed(w);
  w.id(signer);
  w.fixed(signature);
}

Result<Checkpoint> Checkpoint::decode(Reader& r) {
  Checkpoint c;
  PHALANX_ASSIGN_OR_RETURN(c.epoch, r.id<Epoch>());
  PHALANX_ASSIGN_OR_RETURN(c.height, r.varint());
  PHALANX_ASSIGN_OR_RETURN(c.block, r.fixed<32>());
  PHALANX_ASSIGN_OR_RETURN(c.root, r.fixed<32>());
  PHALANX_ASSIGN_OR_RETURN(c.signer, r.id<NodeId>());
  PHALANX_ASSIGN_OR_RETURN(c.signature, r.fixed<64>());
  return c;
}

void CheckpointCert::encode(Writer& w) const {
  w.id(epoch);
  w.varint(height);
  w.fixed(block);
  w.fixed(root);
  encode_qc_signers(w, signers);
}

Result<CheckpointCert> CheckpointCert::decode(Reader& r) {
  CheckpointCert c;
  PHALANX_ASSIGN_OR_RETURN(c.epoch, r.id<Epoch>());
  PHALANX_ASSIGN_OR_RETURN(c.height, r.varint());
  PHALANX_ASSIGN_OR_RETURN(c.block, r.fixed<32>());
  PHALANX_ASSIGN_OR_RETURN(c.root, r.fixed<32>());
  PHALANX_ASSIGN_OR_RETURN(c.signers, decode_qc_signers(r));
  return c;
}

Status verify_checkpoint_cert(const CheckpointCert& cert, const Validators& v) {
  if (cert.epoch != v.epoch) return fail(QuorumNotReached{0, v.quorum.size()});
  const Checkpoint statement{cert.epoch, cert.height, cert.block, cert.root, NodeId{0}};
  return verify_quorum_signatures(cert.signers, Checkpoint::kDomain,
                                  security::signed_bytes(statement), v);
}

void Divergence::encode(Writer& w) const {
  w.id(replica);
  signed_checkpoint.encode(w);
  certified.encode(w);
}

Result<Divergence> Divergence::decode(Reader& r) {
  Divergence d;
  PHALANX_ASSIGN_OR_RETURN(d.replica, r.id<NodeId>());
  PHALANX_ASSIGN_OR_RETURN(d.signed_checkpoint, Checkpoint::decode(r));
  PHALANX_ASSIGN_OR_RETURN(d.certified, CheckpointCert::decode(r));
  return d;
}

void CheckpointTracker::add(const Checkpoint& c) {
  if (c.epoch != validators_.epoch) return;
  if (latest_ && c.height <= latest_->height) {
    if (c.height == latest_->height) check_against(*latest_, c);
    return;
  }
  auto& signers = pending_[c.height][{c.block, c.root}];
  signers.try_emplace(c.signer, c);
  if (validators_.quorum.reached(signers.size())) {
    CheckpointCert cert{c.epoch, c.height, c.block, c.root, {}};
    for (const auto& [id, one] : signers) cert.signers.push_back({id, one.signature});
    certify(std::move(cert));
    return;
  }
  while (pending_.size() > kPendingHeightsMax) pending_.erase(pending_.begin());
}

Status CheckpointTracker::add_certificate(const CheckpointCert& cert) {
  PHALANX_TRY(verify_checkpoint_cert(cert, validators_));
  if (!latest_ || cert.height > latest_->height) certify(cert);
  return {};
}

void CheckpointTracker::certify(CheckpointCert cert) {
  const auto at = pending_.find(cert.height);
  std::vector<Checkpoint> others;
  if (at != pending_.end()) {
    for (const auto& [what, signers] : at->second) {
      for (const auto& [id, c] : signers) others.push_back(c);
    }
  }
  pending_.erase(pending_.begin(), pending_.upper_bound(cert.height));
  reported_.clear();
  latest_ = cert;
  certified_.push_back(cert);
  for (const Checkpoint& c : others) check_against(*latest_, c);
}

void CheckpointTracker::check_against(const CheckpointCert& cert, const Checkpoint& c) {
  if (c.block == cert.block && c.root == cert.root) return;
  if (!reported_.insert(c.signer).second) return;
  divergences_.push_back({c.signer, c, cert});
}

}  // namespace phalanx::bft
