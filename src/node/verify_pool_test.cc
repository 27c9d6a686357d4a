// The verify pool checks a frame's signatures on a worker, resumes its caller
// on the caller's thread, and leaves answers the replica's thread finds.
#include "node/verify_pool.h"

#include <gtest/gtest.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <thread>

#include "consensus/bft/wire.h"
#include "consensus/common/client_request.h"
#include "net/frame.h"
#include "security/verify.h"
#include "testing/bft_fixture.h"

namespace phalanx::node {
namespace {

using bft::testing::key_of;

class VerifyPoolTest : public ::testing::Test {
 protected:
  VerifyPoolTest() {
    fixture_.add_client(ClientId{1});
    fixture_.add_client(ClientId{2});
  }

  // Runs `body` as a coroutine on an io_context driven by this thread.
  void run(std::function<asio::awaitable<void>()> body) {
    asio::io_context io;
    bool done = false;
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
          co_await body();
          done = true;
        },
        asio::detached);
    io.run();
    ASSERT_TRUE(done);
  }

  bft::testing::Fixture fixture_{4};
  crypto::VerifyMemo memo_{VerifyPool::kMemoEntriesMax};
  VerifyPool pool_{2, fixture_.validators(), NodeId{3}, memo_};
};

TEST_F(VerifyPoolTest, ChecksAPeerFrameOnAWorkerAndResumesOnTheCallersThread) {
  const bft::Block b1 = fixture_.block(Round{1}, bft::genesis_qc(fixture_.epoch()));
  const bft::Block b2 = fixture_.block(Round{2}, fixture_.qc_for(b1), {}, NodeId{2});
  const Bytes frame = bft::encode_envelope({NodeId{2}, NodeId{3}, b2});
  std::thread::id resumed_on;
  run([&]() -> asio::awaitable<void> {
    co_await pool_.peer_frame(frame);
    resumed_on = std::this_thread::get_id();
  });
  EXPECT_EQ(resumed_on, std::this_thread::get_id());
  EXPECT_EQ(pool_.jobs(), 1u);
  EXPECT_EQ(memo_.checks(), 4u);  // the block's signature and its QC's three
  // The replica's thread, looking at the same block, finds every answer.
  const crypto::ScopedVerifyMemo lookups(memo_);
  EXPECT_TRUE(security::verify(fixture_.registry(), Untrusted<bft::Block>(b2)));
  EXPECT_TRUE(bft::verify_qc(b2.qc, fixture_.validators()));
  EXPECT_EQ(memo_.checks(), 4u);
  EXPECT_EQ(memo_.hits(), 4u);
}

TEST_F(VerifyPoolTest, ChecksAClientRequestAndPassesOverWhatDoesNotDecode) {
  consensus::ClientRequest r = bft::testing::signed_request(ClientId{1}, 7);
  const Bytes call = codec::encode(net::CallFrame{1, codec::encode(r)});
  const Bytes garbage = to_bytes("not a frame");
  run([&]() -> asio::awaitable<void> {
    co_await pool_.client_call(call, ClientId{1});
    co_await pool_.client_call(garbage, ClientId{1});
    co_await pool_.peer_frame(garbage);
  });
  EXPECT_EQ(pool_.jobs(), 3u);
  EXPECT_EQ(memo_.checks(), 1u);  // only the signed request had a signature to check
  const crypto::ScopedVerifyMemo lookups(memo_);
  EXPECT_TRUE(security::verify(fixture_.registry(), Untrusted<consensus::ClientRequest>(r)));
  EXPECT_EQ(memo_.hits(), 1u);
}

// A caller sending requests in other ids' names gets the same work done
// whether the id exists (client 2) or not (client 77): decoded, not checked.
// (`./dev bench` compares the two refusal latencies on a real replica.)
TEST_F(VerifyPoolTest, ARequestInAnotherIdsNameIsNotCheckedWhetherTheIdExistsOrNot) {
  const auto call_of = [](ClientId id) {
    const consensus::ClientRequest r = bft::testing::signed_request(id, 7);
    return codec::encode(net::CallFrame{1, codec::encode(r)});
  };
  const Bytes known = call_of(ClientId{2});
  const Bytes unknown = call_of(ClientId{77});
  run([&]() -> asio::awaitable<void> {
    co_await pool_.client_call(known, ClientId{1});
    co_await pool_.client_call(unknown, ClientId{1});
  });
  EXPECT_EQ(pool_.jobs(), 2u);
  EXPECT_EQ(memo_.checks(), 0u);
  run([&]() -> asio::awaitable<void> { co_await pool_.client_call(known, ClientId{2}); });
  EXPECT_EQ(memo_.checks(), 1u);  // in its own name, it is checked
}

TEST_F(VerifyPoolTest, AForgedSignatureIsRememberedAsForged) {
  consensus::ClientRequest r = bft::testing::signed_request(ClientId{1}, 7);
  r.operation = to_bytes("changed after signing");  // the signature no longer fits
  const Bytes call = codec::encode(net::CallFrame{1, codec::encode(r)});
  run([&]() -> asio::awaitable<void> { co_await pool_.client_call(call, ClientId{1}); });
  const crypto::ScopedVerifyMemo lookups(memo_);
  Result<Authenticated<consensus::ClientRequest>> v =
      security::verify(fixture_.registry(), Untrusted<consensus::ClientRequest>(r));
  ASSERT_FALSE(v);
  EXPECT_TRUE(std::holds_alternative<SignatureInvalid>(*v.error().security()));
  EXPECT_EQ(memo_.hits(), 1u);
}

}  // namespace
}  // namespace phalanx::node
