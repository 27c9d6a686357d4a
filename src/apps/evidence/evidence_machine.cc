#include "apps/evidence/evidence_machine.h"

namespace phalanx::evidence {

EvidenceMachine::EvidenceMachine(const security::TrustRegistry* registry, ClusterId cluster,
                                 EvidenceConfig genesis)
    : registry_(registry),
      cluster_(cluster),
      genesis_(genesis),
      store_(registry, cluster, genesis) {}

consensus::StateMachine::Applied EvidenceMachine::apply(LogIndex index, ByteView command) {
  const std::uint64_t before = store_.executed();
  Bytes reply = store_.apply(index, command);
  return {std::move(reply), store_.executed() > before, store_.refusal()};
}

bool EvidenceMachine::read_only(ByteView command) const {
  Result<EvidenceCommand> c = codec::decode<EvidenceCommand>(command);
  return c && c->read_only();
}

Action EvidenceMachine::action(ByteView command) const {
  Result<EvidenceCommand> c = codec::decode<EvidenceCommand>(command);
  return c ? c->action() : Action::kSubmitRequest;
}

bool EvidenceMachine::issued_by(ByteView command, ClientId client, std::uint64_t sequence) const {
  Result<EvidenceCommand> c = codec::decode<EvidenceCommand>(command);
  return c && c->client == client && c->sequence == sequence;
}

Bytes EvidenceMachine::query(ByteView command) const {
  Result<EvidenceCommand> c = codec::decode<EvidenceCommand>(command);
  if (!c || !c->read_only()) {
    return codec::encode(EvidenceReply{EvidenceStatus::kMalformed, "not a read-only command"});
  }
  return codec::encode(store_.query(*c));
}

void EvidenceMachine::clear() { store_ = EvidenceStore(registry_, cluster_, genesis_); }

}  // namespace phalanx::evidence
