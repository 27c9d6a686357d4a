// The KV store as a replicated application (consensus::StateMachine).
// Gets are read-only: a replica answers them after a ReadIndex round.
#pragma once

#include "apps/kv/kv.h"
#include "consensus/common/state_machine.h"

namespace phalanx::kv {

class KvMachine final : public consensus::StateMachine {
 public:
  // Test-only: the planted bug of KvStore, kept across restore() and clear().
  explicit KvMachine(bool TEST_apply_retries_twice = false);

  [[nodiscard]] Applied apply(LogIndex index, ByteView command) override;
  [[nodiscard]] bool read_only(ByteView command) const override;
  [[nodiscard]] Bytes query(ByteView command) const override;
  [[nodiscard]] bool issued_by(ByteView command, ClientId client,
                               std::uint64_t sequence) const override;
  [[nodiscard]] Bytes snapshot() const override { return store_.snapshot(); }
  [[nodiscard]] Status restore(ByteView snapshot) override;
  void clear() override;
  [[nodiscard]] crypto::Hash32 digest() const override { return store_.digest(); }

  [[nodiscard]] const KvStore& store() const { return store_; }

 private:
  KvStore store_;
  bool TEST_apply_retries_twice_;
};

}  // namespace phalanx::kv
