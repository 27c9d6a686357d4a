#include "node/verify_pool.h"

#include <asio/co_spawn.hpp>
#include <asio/use_awaitable.hpp>

#include "consensus/bft/signatures.h"
#include "consensus/bft/wire.h"
#include "consensus/common/client_request.h"
#include "core/assert.h"
#include "net/frame.h"
#include "security/verify.h"

namespace phalanx::node {

VerifyPool::VerifyPool(std::size_t threads, bft::Validators validators, NodeId me,
                       crypto::VerifyMemo& memo)
    : threads_(threads), validators_(validators), me_(me), memo_(memo), workers_(threads) {
  PHALANX_ASSERT(threads >= 1 && validators.registry != nullptr);
}

VerifyPool::~VerifyPool() {
  workers_.stop();
  workers_.join();
}

asio::awaitable<void> VerifyPool::on_worker(std::function<void()> work) {
  // co_spawn with use_awaitable runs `work` on a worker and resumes the
  // caller on its own executor (the io thread) when it is done.
  co_await asio::co_spawn(
      workers_,
      [this, &work]() -> asio::awaitable<void> {
        const crypto::ScopedVerifyMemo remember(memo_);
        work();
        jobs_.fetch_add(1, std::memory_order_relaxed);
        co_return;
      },
      asio::use_awaitable);
}

asio::awaitable<void> VerifyPool::peer_frame(ByteView frame) {
  co_await on_worker([this, frame] {
    Result<Untrusted<bft::Envelope>> envelope = bft::decode_envelope(frame, me_);
    if (envelope) (void)bft::check_signatures(envelope->unverified().body, validators_);
  });
}

asio::awaitable<void> VerifyPool::client_call(ByteView call_frame, ClientId caller) {
  co_await on_worker([this, call_frame, caller] {
    Result<net::CallFrame> call = codec::decode<net::CallFrame>(call_frame);
    if (!call) return;
    Result<Untrusted<consensus::ClientRequest>> request =
        security::decode_untrusted<consensus::ClientRequest>(call->request);
    if (!request || request->unverified().client != caller) return;
    (void)security::verify(*validators_.registry, std::move(*request));
  });
}

}  // namespace phalanx::node
