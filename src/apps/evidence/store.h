// The evidence service's replicated state (docs/evidence.md): the admitted
// evidence log in per-block Merkle trees, each source's chain, the tally,
// the committed configuration and the client sessions. Pure and
// deterministic; every replica that applies the same commands in the same
// blocks reaches the same digest.
//
//   EvidenceStore store(&registry, cluster, EvidenceConfig{});
//   store.begin_block(7);
//   Bytes reply = store.apply(LogIndex{12}, codec::encode(submit_command));
//
// Admission (refuse_item) is a pure check in this order, each refusal typed
// and counted: cluster, registered source with the evidence-source role,
// signature, sequence (replay: NonceReplay), chain (gap, previous hash,
// timestamp: ChainBroken), |LLR| bound, hypotheses limit, per-block rate.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "apps/evidence/evidence.h"
#include "apps/evidence/tally.h"
#include "consensus/common/session_table.h"
#include "security/registry.h"

namespace phalanx::evidence {

struct Refusal {
  EvidenceStatus status;
  Error error;
};

class EvidenceStore {
 public:
  // `registry` names the sources (role evidence-source) and administrators
  // and must outlive the store. REQUIRES: genesis.validate().
  EvidenceStore(const security::TrustRegistry* registry, ClusterId cluster, EvidenceConfig genesis);

  // The commands applied from now until the next begin_block form block
  // `height`: one Merkle tree, one rate-limit window. Heights only grow.
  void begin_block(std::uint64_t height);

  // One committed command; returns the encoded EvidenceReply.
  // REQUIRES: index > last_applied().
  [[nodiscard]] Bytes apply(LogIndex index, ByteView command);
  // Answers a read-only command (posterior, sources, proof, config).
  [[nodiscard]] EvidenceReply query(const EvidenceCommand& command) const;

  // Why `item` would not be admitted now; nullopt if it would.
  [[nodiscard]] std::optional<Refusal> refuse_item(const EvidenceItem& item) const;
  [[nodiscard]] std::optional<Refusal> refuse_change(const ConfigChange& change) const;

  [[nodiscard]] const EvidenceConfig& config() const { return config_; }
  [[nodiscard]] std::uint64_t config_version() const { return config_version_; }
  [[nodiscard]] const Tally& tally() const { return tally_; }
  [[nodiscard]] std::size_t log_size() const { return log_.size(); }
  [[nodiscard]] LogIndex last_applied() const { return last_applied_; }
  [[nodiscard]] std::uint64_t executed() const { return executed_; }
  // Refusals by status name since this store was built (not replicated).
  [[nodiscard]] const std::map<std::string, std::uint64_t>& refusals() const { return refusals_; }
  // Why the last apply() refused its command or its item, if it did.
  [[nodiscard]] const std::optional<Error>& refusal() const { return refusal_; }

  [[nodiscard]] std::vector<SourceStanding> sources() const;
  [[nodiscard]] Result<ItemProof> prove(ClientId source, std::uint64_t sequence) const;
  // evidence_digest(log root, hash of the rest): equal states, equal digests.
  [[nodiscard]] crypto::Hash32 digest() const;

  // The whole replicated state, canonically encoded.
  [[nodiscard]] Bytes snapshot() const;
  // MalformedInput (this store unchanged) unless `snapshot` is exactly what
  // snapshot() writes and its log re-verifies against the chains it holds.
  [[nodiscard]] Status restore(ByteView snapshot);

 private:
  struct Chain {
    std::uint64_t sequence = 0;
    crypto::Hash32 head;
    std::int64_t timestamp_ms = 0;
    std::uint64_t block = 0;               // the block in_block counts for
    std::uint32_t in_block = 0;            // items admitted in that block
    std::vector<std::uint64_t> positions;  // log index of item k+1 (derived)
    [[nodiscard]] bool same_state(const Chain& o) const;
  };
  struct Block {
    std::uint64_t height = 0;
    std::uint64_t first = 0;  // log index of its first item
    std::uint64_t count = 0;
  };

  EvidenceReply execute(const EvidenceCommand& command);
  EvidenceReply submit(const EvidenceItem& item);
  EvidenceReply configure(const ConfigChange& change);
  EvidenceReply refused(const Refusal& r);
  void encode_rest(codec::Writer& w) const;
  [[nodiscard]] crypto::Hash32 rest_hash() const;
  [[nodiscard]] crypto::Hash32 block_root(std::size_t block) const;
  [[nodiscard]] std::vector<crypto::Hash32> block_leaf_hashes() const;
  [[nodiscard]] Status decode_state(codec::Reader& r);

  const security::TrustRegistry* registry_;
  ClusterId cluster_;
  EvidenceConfig config_;
  std::uint64_t config_version_ = 0;
  std::uint64_t height_ = 0;
  std::map<ClientId, Chain> chains_;
  std::vector<EvidenceItem> log_;
  std::vector<Block> blocks_;  // blocks holding at least one item, by height
  mutable std::map<std::uint64_t, crypto::Hash32> roots_;  // cache: block height → root
  Tally tally_;
  consensus::SessionTable sessions_;
  LogIndex last_applied_;
  std::uint64_t executed_ = 0;
  std::map<std::string, std::uint64_t> refusals_;
  std::optional<Error> refusal_;  // not replicated: about the last apply() only
};

}  // namespace phalanx::evidence
