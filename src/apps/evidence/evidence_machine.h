// The evidence service as a replicated application (consensus::StateMachine).
// Posterior, sources, proof and config queries are read-only.
#pragma once

#include "apps/evidence/store.h"
#include "consensus/common/state_machine.h"

namespace phalanx::evidence {

class EvidenceMachine final : public consensus::StateMachine {
 public:
  // `registry` must outlive the machine. REQUIRES: genesis.validate().
  EvidenceMachine(const security::TrustRegistry* registry, ClusterId cluster,
                  EvidenceConfig genesis);

  void begin_block(std::uint64_t height) override { store_.begin_block(height); }
  [[nodiscard]] Applied apply(LogIndex index, ByteView command) override;
  [[nodiscard]] bool read_only(ByteView command) const override;
  [[nodiscard]] Action action(ByteView command) const override;
  [[nodiscard]] Bytes query(ByteView command) const override;
  [[nodiscard]] bool issued_by(ByteView command, ClientId client,
                               std::uint64_t sequence) const override;
  [[nodiscard]] Bytes snapshot() const override { return store_.snapshot(); }
  [[nodiscard]] Status restore(ByteView snapshot) override { return store_.restore(snapshot); }
  void clear() override;
  [[nodiscard]] crypto::Hash32 digest() const override { return store_.digest(); }

  [[nodiscard]] const EvidenceStore& store() const { return store_; }

 private:
  const security::TrustRegistry* registry_;
  ClusterId cluster_;
  EvidenceConfig genesis_;
  EvidenceStore store_;
};

}  // namespace phalanx::evidence
