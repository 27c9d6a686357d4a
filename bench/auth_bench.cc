// The authentication path's timing (issue: a timing oracle on client ids):
// a request in another client's name is refused after the same work whether
// that id exists or not. bench/main.cc prints the known-id time as a ratio
// of the unknown-id time measured in the same run; 1.0 is no oracle. (The
// old path checked known ids' signatures first: about 1.3 on a replica.)
#include <benchmark/benchmark.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <vector>

#include "net/frame.h"
#include "node/verify_pool.h"
#include "testing/bft_fixture.h"

namespace phalanx {
namespace {

// state.range(0): 1 if the id named exists (client 2), 0 if not (client 77);
// the caller is client 1. Distinct requests and a one-entry memo, so no
// answer is remembered from an earlier iteration.
void BM_RefuseRequestInAnotherIdsName(benchmark::State& state) {
  bft::testing::Fixture fixture(4);
  fixture.add_client(ClientId{1});
  fixture.add_client(ClientId{2});
  crypto::VerifyMemo memo(1);
  node::VerifyPool pool(1, fixture.validators(), NodeId{3}, memo);
  const ClientId named = state.range(0) == 1 ? ClientId{2} : ClientId{77};
  std::vector<Bytes> calls;
  for (std::uint64_t seq = 1; seq <= 64; ++seq) {
    const consensus::ClientRequest r = bft::testing::signed_request(named, seq);
    calls.push_back(codec::encode(net::CallFrame{seq, codec::encode(r)}));
  }
  // All 64 in flight at once each iteration, so a worker wake-up is spread
  // over them: the figure is the work, not the scheduler's noise.
  asio::io_context io;
  for (auto _ : state) {
    for (const Bytes& call : calls) {
      asio::co_spawn(io, pool.client_call(call, ClientId{1}), asio::detached);
    }
    io.run();
    io.restart();
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(calls.size()));
}
BENCHMARK(BM_RefuseRequestInAnotherIdsName)->Arg(1)->Arg(0)->UseRealTime();

}  // namespace
}  // namespace phalanx
