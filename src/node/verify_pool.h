// Signature checks on worker threads, ahead of the replica (byzantine mode).
//
// The replica runs on the node's one io thread, and a frame's Ed25519 checks
// (a block carries a QC, client requests, maybe a TC and accusations) are
// most of its CPU. The pool does them on worker threads while the io thread
// serves other connections, and remembers every answer in a memo that the
// io thread reads too (crypto::VerifyMemo). The replica then checks the frame
// exactly as before; each signature the pool saw is a lookup.
//
// The pool never judges: a frame that does not decode, or whose signatures
// fail, still goes to the replica, which refuses it with the usual typed
// error. Answers are keyed by the exact bytes checked, so a memo hit is the
// answer a fresh check would give.
//
//   crypto::VerifyMemo memo(VerifyPool::kMemoEntriesMax);
//   VerifyPool pool(2, validators, me, memo);
//   const crypto::ScopedVerifyMemo lookups(memo);  // on the io thread
//   co_await pool.peer_frame(frame);   // resumes on the io thread
//   replica->receive(from, frame);      // its checks find the answers
#pragma once

#include <asio/awaitable.hpp>
#include <asio/thread_pool.hpp>
#include <atomic>
#include <cstdint>
#include <functional>

#include "consensus/bft/types.h"
#include "crypto/keys.h"

namespace phalanx::node {

class VerifyPool {
 public:
  // The memo holds this many answers, then starts over.
  static constexpr std::size_t kMemoEntriesMax = std::size_t{1} << 16;

  // `validators.registry` and `memo` must outlive the pool. REQUIRES: threads >= 1.
  VerifyPool(std::size_t threads, bft::Validators validators, NodeId me, crypto::VerifyMemo& memo);
  ~VerifyPool();  // waits for the job in progress on each worker
  VerifyPool(const VerifyPool&) = delete;
  VerifyPool& operator=(const VerifyPool&) = delete;

  [[nodiscard]] std::size_t threads() const { return threads_; }
  // Jobs run on the workers.
  [[nodiscard]] std::uint64_t jobs() const { return jobs_.load(std::memory_order_relaxed); }

  // Checks the signatures of a replica's frame (bft::check_signatures) on a
  // worker. `frame` must stay alive until this completes.
  asio::awaitable<void> peer_frame(ByteView frame);
  // Checks the client signature of a CallFrame's request on a worker, if the
  // request is in `caller`'s name (the client its channel proved). One in
  // another id's name is refused by the node unchecked, the same way whether
  // that id exists or not: checking only known ids' signatures would let
  // the time to refusal tell which ids exist.
  asio::awaitable<void> client_call(ByteView call_frame, ClientId caller);

 private:
  asio::awaitable<void> on_worker(std::function<void()> work);

  std::size_t threads_;
  bft::Validators validators_;
  NodeId me_;
  crypto::VerifyMemo& memo_;
  std::atomic<std::uint64_t> jobs_{0};
  asio::thread_pool workers_;  // last: joined before anything above is destroyed
};

}  // namespace phalanx::node
