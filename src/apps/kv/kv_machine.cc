#include "apps/kv/kv_machine.h"

namespace phalanx::kv {

KvMachine::KvMachine(bool TEST_apply_retries_twice)
    : TEST_apply_retries_twice_(TEST_apply_retries_twice) {
  store_.TEST_apply_retries_twice = TEST_apply_retries_twice_;
}

consensus::StateMachine::Applied KvMachine::apply(LogIndex index, ByteView command) {
  const std::uint64_t before = store_.executed();
  Bytes reply = store_.apply(index, command);
  return {std::move(reply), store_.executed() > before, store_.refusal()};
}

bool KvMachine::read_only(ByteView command) const {
  Result<KvCommand> c = codec::decode<KvCommand>(command);
  return c && (c->op == KvOp::kGet || c->op == KvOp::kRange);
}

bool KvMachine::issued_by(ByteView command, ClientId client, std::uint64_t sequence) const {
  Result<KvCommand> c = codec::decode<KvCommand>(command);
  return c && c->client == client && c->sequence == sequence;
}

Bytes KvMachine::query(ByteView command) const {
  Result<KvCommand> c = codec::decode<KvCommand>(command);
  if (c && c->op == KvOp::kRange)
    return codec::encode(store_.range(c->key, c->range_end, c->limit));
  if (!c || c->op != KvOp::kGet) return codec::encode(KvReply{KvStatus::kMalformed, std::nullopt});
  std::optional<Bytes> value = store_.get(c->key);
  const KvStatus status = value ? KvStatus::kOk : KvStatus::kNotFound;
  return codec::encode(KvReply{status, std::move(value)});
}

Status KvMachine::restore(ByteView snapshot) {
  PHALANX_ASSIGN_OR_RETURN(store_, KvStore::restore(snapshot));
  store_.TEST_apply_retries_twice = TEST_apply_retries_twice_;
  return {};
}

void KvMachine::clear() {
  store_ = KvStore{};
  store_.TEST_apply_retries_twice = TEST_apply_retries_twice_;
}

}  // namespace phalanx::kv
