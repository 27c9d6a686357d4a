// Test-only: n replicas with keys, a registry and the validators of epoch 1,
// and helpers that build correctly signed blocks and certificates.
#pragma once

#include <vector>

#include "consensus/bft/checkpoint.h"
#include "consensus/bft/types.h"
#include "security/registry.h"
#include "security/verify.h"

namespace phalanx::bft::testing {

inline crypto::KeyPair key_of(NodeId id) {
  crypto::Seed seed;
  seed[0] = static_cast<std::uint8_t>(id.value());
  seed[1] = 0xb7;
  return crypto::KeyPair::from_seed(seed);
}

// Client `id`'s signing key (no replica's key is the same).
inline crypto::KeyPair client_key_of(ClientId id) {
  crypto::Seed seed;
  seed[0] = static_cast<std::uint8_t>(id.value());
  seed[1] = 0xc1;
  return crypto::KeyPair::from_seed(seed);
}

// A request of `client` in the default cluster, signed with client_key_of(client).
inline consensus::ClientRequest signed_request(ClientId client, std::uint64_t sequence) {
  consensus::ClientRequest r{ClusterId{}, client, sequence, to_bytes("op"), {}};
  security::sign(r, client_key_of(client));
  return r;
}

class Fixture {
 public:
  explicit Fixture(std::uint32_t n)
      : validators_{&registry_, *consensus::Quorum::byzantine(n), Epoch{1}} {
    for (std::uint64_t i = 1; i <= n; ++i) {
      const NodeId id{i};
      PHALANX_ASSERT(
          registry_.add({Principal::replica(id), key_of(id).public_key(), Role::kReplica}));
    }
  }

  [[nodiscard]] const Validators& validators() const { return validators_; }
  security::TrustRegistry& registry() { return registry_; }
  // Registers client `id` with client_key_of(id).
  void add_client(ClientId id) {
    PHALANX_ASSERT(
        registry_.add({Principal::client(id), client_key_of(id).public_key(), Role::kClient}));
  }
  [[nodiscard]] Epoch epoch() const { return validators_.epoch; }

  // A QC for `block` at `round`, signed by replicas 1..signers.
  [[nodiscard]] QuorumCert qc(Round round, const BlockId& block, std::uint32_t signers) const {
    QuorumCert qc{epoch(), round, block, {}};
    for (std::uint64_t i = 1; i <= signers; ++i) {
      Vote v{epoch(), round, block, NodeId{i}};
      security::sign(v, key_of(NodeId{i}));
      qc.signers.push_back({NodeId{i}, v.signature});
    }
    return qc;
  }
  [[nodiscard]] QuorumCert qc_for(const Block& b) const {
    return qc(b.round, b.id(), validators_.quorum.size());
  }

  // A TC for `round`; signer i reports high QC round high_qc_rounds[i-1].
  [[nodiscard]] TimeoutCert tc(Round round, const std::vector<Round>& high_qc_rounds) const {
    TimeoutCert tc{epoch(), round, {}};
    for (std::size_t i = 0; i < high_qc_rounds.size(); ++i) {
      const NodeId id{i + 1};
      Timeout t{epoch(), round, QuorumCert{epoch(), high_qc_rounds[i], {}, {}}, id};
      security::sign(t, key_of(id));
      tc.signers.push_back({id, high_qc_rounds[i], t.signature});
    }
    return tc;
  }

  // Two signed votes of `voter` for different blocks in `round`: a double vote.
  [[nodiscard]] std::pair<Vote, Vote> double_vote(Round round, NodeId voter) const {
    Vote a{epoch(), round, BlockId{}, voter};
    Vote b = a;
    b.block[0] = 1;
    security::sign(a, key_of(voter));
    security::sign(b, key_of(voter));
    return {a, b};
  }

  // A checkpoint certificate on (height, block, root), signed by replicas 1..signers.
  [[nodiscard]] CheckpointCert checkpoint_cert(std::uint64_t height, const BlockId& block,
                                               const crypto::Hash32& root,
                                               std::uint32_t signers) const {
    CheckpointCert cert{epoch(), height, block, root, {}};
    for (std::uint64_t i = 1; i <= signers; ++i) {
      Checkpoint c{epoch(), height, block, root, NodeId{i}};
      security::sign(c, key_of(NodeId{i}));
      cert.signers.push_back({NodeId{i}, c.signature});
    }
    return cert;
  }

  // A signed block at `round` extending `qc`.
  [[nodiscard]] Block block(Round round, QuorumCert qc, std::optional<TimeoutCert> tc = {},
                            NodeId proposer = NodeId{1}) const {
    Block b{.epoch = epoch(),
            .round = round,
            .qc = std::move(qc),
            .tc = std::move(tc),
            .proposer = proposer};
    security::sign(b, key_of(proposer));
    return b;
  }

 private:
  security::TrustRegistry registry_;
  Validators validators_;
};

}  // namespace phalanx::bft::testing
