// libFuzzer target: the client-facing request path. Whatever bytes a client
// sends, a byzantine replica's admission (decode, signature, role, session)
// and the key-value state machine's apply (what a crash-mode leader runs on
// a client's command) answer with a refusal or a reply: they never crash,
// never stop the replica, and a refusal is always counted.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>

#include "fuzz_replicas.h"
#include "net/frame.h"

namespace {

using namespace phalanx;

struct Target {
  Target() : fixture(4), disk(1) {
    fixture.add_client(ClientId{7});
    replica = fuzz::open_bft(fixture, disk);
  }

  bft::testing::Fixture fixture;
  sim::SimFileSystem disk;
  std::unique_ptr<node::BftReplica> replica;
  kv::KvMachine machine;
  std::uint64_t applied = 0;
  std::uint64_t call_id = 0;
};

std::uint64_t refusals(const node::BftReplica& r) {
  std::uint64_t total = 0;
  for (const auto& [kind, n] : r.status().rejected) total += n;
  return total;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static Target t;
  const ByteView input(data, size);

  // A client frame as the node reads it: a CallFrame, then its request.
  Result<net::CallFrame> call = codec::decode<net::CallFrame>(input);
  const Bytes request = call ? call->request : Bytes(input.begin(), input.end());
  const std::uint64_t before = refusals(*t.replica);
  t.replica->call(5, {++t.call_id, request});
  const consensus::Output out = t.replica->take_output();
  if (t.replica->failure()) std::abort();  // a client's bytes never stop a replica
  for (const auto& a : out.answers) {
    // Refused at admission: counted, and nothing beyond the refusal is said.
    if (a.answer.outcome == consensus::CallOutcome::kRejected && refusals(*t.replica) == before) {
      std::abort();
    }
  }

  // The same bytes as a committed command: any reply, never a crash.
  const consensus::StateMachine::Applied applied = t.machine.apply(LogIndex{++t.applied}, input);
  if (!codec::decode<kv::KvReply>(applied.reply)) std::abort();
  if (!codec::decode<kv::KvCommand>(input) && !applied.refused) std::abort();
  return 0;
}
