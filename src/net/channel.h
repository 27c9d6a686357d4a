// One authenticated TLS connection carrying frames (net/frame.h), over Asio
// coroutines on a single-threaded io_context.
//
//   auto ch = co_await dial(ex, ctx, pins, "127.0.0.1", 7001);   // or accept()
//   if (ch) (*ch)->send(payload);                // queued; false when the queue is full
//   Result<Bytes> f = co_await (*ch)->read_frame();
//
// Sends never block the caller and never grow without bound: each channel
// queues at most `queue_bytes_max`; a frame that does not fit is dropped
// and counted (consensus tolerates a lost message; a client retries). The
// handshake must finish within its timeout (kHandshakeTimeout when dialing)
// or the socket is closed; an accepted channel may also close when no frame
// begins for `idle_timeout` or a frame begun is not whole within
// `frame_timeout`, so a silent or trickling peer cannot hold a connection.
#pragma once

#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/ssl/stream.hpp>
#include <asio/steady_timer.hpp>
#include <chrono>
#include <deque>
#include <memory>

#include "core/error.h"
#include "core/principal.h"
#include "net/tls.h"

namespace phalanx::net {

using TlsStream = asio::ssl::stream<asio::ip::tcp::socket>;

inline constexpr std::chrono::seconds kHandshakeTimeout{5};

struct ChannelLimits {
  std::size_t frame_bytes_max = 0;          // incoming frames above this close the channel
  std::size_t queue_bytes_max = 64u << 20;  // outgoing bytes waiting to be written
  // read_frame() fails with kUnavailable after waiting this long for a frame
  // to begin, and with a truncated-frame MalformedInput if a frame begun is
  // not whole within frame_timeout. Zero: no limit.
  std::chrono::milliseconds idle_timeout{0};
  std::chrono::milliseconds frame_timeout{0};
};

class Channel : public std::enable_shared_from_this<Channel> {
 public:
  Channel(TlsStream stream, Principal peer, ChannelLimits limits);

  [[nodiscard]] const Principal& peer() const { return peer_; }
  [[nodiscard]] bool is_open() const { return open_; }
  [[nodiscard]] std::uint64_t dropped() const { return dropped_; }

  // Queues one frame. False, and the frame dropped, if the channel is closed
  // or its queue is full.
  bool send(ByteView payload);
  // The next frame's payload. MalformedInput for an empty or oversized
  // frame, or one not whole within frame_timeout; kUnavailable when none
  // begins within idle_timeout; kIo when the connection ends. The channel is
  // closed on any error.
  [[nodiscard]] asio::awaitable<Result<Bytes>> read_frame();
  // Test-only: queues bytes as they are, without a frame header (forged frames).
  bool TEST_send_unframed(ByteView bytes);
  // Closes the socket; pending reads and writes end.
  void close();

  // Starts the writer coroutine (once, after construction).
  void start();

 private:
  asio::awaitable<void> write_loop();
  // Reads exactly `into` bytes; the channel closes if that takes longer than
  // `limit` (zero: no limit). True if the read timed out.
  asio::awaitable<bool> read_within(asio::mutable_buffer into, std::chrono::milliseconds limit,
                                    asio::error_code& ec);

  TlsStream stream_;
  Principal peer_;
  ChannelLimits limits_;
  asio::steady_timer wake_;
  asio::steady_timer read_deadline_;
  std::uint64_t read_generation_ = 0;  // which read a deadline belongs to
  bool read_timed_out_ = false;
  std::deque<Bytes> queue_;  // header ‖ payload, oldest first
  std::size_t queued_bytes_ = 0;
  std::uint64_t dropped_ = 0;
  bool open_ = true;
};

// Connects, runs the TLS handshake as the client side and checks that the
// far end is `expected`. kIo if it cannot connect; AuthenticationFailed if
// the far end is not pinned to `expected`.
[[nodiscard]] asio::awaitable<Result<std::shared_ptr<Channel>>> dial(
    asio::any_io_executor ex, asio::ssl::context& ctx, const Pins& pins, const std::string& host,
    std::uint16_t port, Principal expected, ChannelLimits limits);

// Runs the TLS handshake (within `handshake_timeout`) as the server side on
// an accepted socket and returns the channel with the principal the
// client's certificate proves, with the limits for its kind.
// AuthenticationFailed (the same for every refused certificate) or kIo.
struct AcceptLimits {
  std::chrono::milliseconds handshake_timeout = kHandshakeTimeout;
  ChannelLimits replicas;
  ChannelLimits clients;
};
[[nodiscard]] asio::awaitable<Result<std::shared_ptr<Channel>>> accept(asio::ip::tcp::socket socket,
                                                                       asio::ssl::context& ctx,
                                                                       const Pins& pins,
                                                                       const AcceptLimits& limits);

}  // namespace phalanx::net
