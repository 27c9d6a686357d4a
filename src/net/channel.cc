#include "net/channel.h"

#include <fmt/format.h>

#include <asio/co_spawn.hpp>
#include <asio/connect.hpp>
#include <asio/detached.hpp>
#include <asio/read.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

#include "net/frame.h"

namespace phalanx::net {
namespace {

using asio::use_awaitable;

Unexpected<Error> io_fail(std::string_view what, const asio::error_code& ec) {
  return fail(ErrorCode::kIo, fmt::format("{}: {}", what, ec.message()));
}

// Runs the handshake with a deadline: the socket closes if it has not finished in time.
asio::awaitable<asio::error_code> handshake(TlsStream& stream,
                                            asio::ssl::stream_base::handshake_type side,
                                            std::chrono::milliseconds timeout) {
  asio::steady_timer deadline(stream.get_executor(), timeout);
  deadline.async_wait([&stream](const asio::error_code& ec) {
    if (!ec) {
      asio::error_code ignored;
      stream.lowest_layer().close(ignored);
    }
  });
  asio::error_code ec;
  co_await stream.async_handshake(side, asio::redirect_error(use_awaitable, ec));
  deadline.cancel();
  co_return ec;
}

}  // namespace

Channel::Channel(TlsStream stream, Principal peer, ChannelLimits limits)
    : stream_(std::move(stream)),
      peer_(peer),
      limits_(limits),
      wake_(stream_.get_executor(), std::chrono::steady_clock::time_point::max()),
      read_deadline_(stream_.get_executor()) {}

void Channel::start() {
  asio::co_spawn(
      stream_.get_executor(), [self = shared_from_this()] { return self->write_loop(); },
      asio::detached);
}

bool Channel::send(ByteView payload) {
  if (!open_ || queued_bytes_ + payload.size() > limits_.queue_bytes_max) {
    ++dropped_;
    return false;
  }
  const auto header = frame_header(payload.size());
  Bytes frame;
  frame.reserve(header.size() + payload.size());
  frame.insert(frame.end(), header.begin(), header.end());
  frame.insert(frame.end(), payload.begin(), payload.end());
  queued_bytes_ += frame.size();
  queue_.push_back(std::move(frame));
  wake_.cancel_one();
  return true;
}

bool Channel::TEST_send_unframed(ByteView bytes) {
  if (!open_) return false;
  queue_.emplace_back(bytes.begin(), bytes.end());
  queued_bytes_ += bytes.size();
  wake_.cancel_one();
  return true;
}

asio::awaitable<void> Channel::write_loop() {
  while (open_) {
    if (queue_.empty()) {
      asio::error_code ec;
      co_await wake_.async_wait(asio::redirect_error(use_awaitable, ec));
      continue;
    }
    // Everything queued goes out in one write.
    std::vector<Bytes> batch(std::make_move_iterator(queue_.begin()),
                             std::make_move_iterator(queue_.end()));
    queue_.clear();
    std::vector<asio::const_buffer> buffers;
    buffers.reserve(batch.size());
    for (const Bytes& b : batch) buffers.emplace_back(asio::buffer(b));
    asio::error_code ec;
    const std::size_t written =
        co_await asio::async_write(stream_, buffers, asio::redirect_error(use_awaitable, ec));
    queued_bytes_ -= std::min(queued_bytes_, written);
    if (ec) {
      close();
      co_return;
    }
  }
}

asio::awaitable<bool> Channel::read_within(asio::mutable_buffer into,
                                           std::chrono::milliseconds limit, asio::error_code& ec) {
  const std::uint64_t generation = ++read_generation_;
  read_timed_out_ = false;
  if (limit.count() > 0) {
    read_deadline_.expires_after(limit);
    read_deadline_.async_wait(
        [self = shared_from_this(), generation](const asio::error_code& waited) {
          // Cancelled, or queued just as the read finished: the read won.
          if (waited || generation != self->read_generation_) return;
          self->read_timed_out_ = true;
          self->close();
        });
  }
  co_await asio::async_read(stream_, into, asio::redirect_error(use_awaitable, ec));
  ++read_generation_;  // a deadline already queued is now moot
  if (limit.count() > 0) read_deadline_.cancel();
  co_return read_timed_out_;
}

asio::awaitable<Result<Bytes>> Channel::read_frame() {
  std::array<std::uint8_t, kFrameHeaderBytes> header{};
  asio::error_code ec;
  // The first byte may be long in coming (an idle connection); once it is
  // here, the rest of the frame must follow within frame_timeout.
  if (co_await read_within(asio::buffer(header.data(), 1), limits_.idle_timeout, ec)) {
    co_return fail(ErrorCode::kUnavailable,
                   fmt::format("no frame for {} ms", limits_.idle_timeout.count()));
  }
  // From the first byte, not from the wait for it: a connection quiet for
  // longer than frame_timeout still gets the whole of it for its next frame.
  const auto frame_begun = std::chrono::steady_clock::now();
  if (ec) {
    close();
    co_return io_fail("connection closed", ec);
  }
  const auto left = [&] {
    if (limits_.frame_timeout.count() == 0) return std::chrono::milliseconds(0);
    const auto spent = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - frame_begun);
    return std::max(std::chrono::milliseconds(1), limits_.frame_timeout - spent);
  };
  bool timed_out =
      co_await read_within(asio::buffer(header.data() + 1, header.size() - 1), left(), ec);
  Result<std::size_t> length = 0;
  if (!ec) length = frame_length(header, limits_.frame_bytes_max);
  if (!ec && !length) {
    close();
    co_return Unexpected(std::move(length).error());
  }
  Bytes payload;
  if (!ec) {
    payload.resize(*length);
    timed_out = co_await read_within(asio::buffer(payload), left(), ec);
  }
  if (ec || timed_out) {
    close();
    // A frame cut short by the end of the connection or by its deadline is a truncated frame.
    co_return codec::Reader::malformed(MalformedReason::kTruncated, kFrameHeaderBytes);
  }
  co_return payload;
}

void Channel::close() {
  if (!open_) return;
  open_ = false;
  queue_.clear();
  queued_bytes_ = 0;
  asio::error_code ignored;
  stream_.lowest_layer().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  stream_.lowest_layer().close(ignored);
  wake_.cancel();
}

asio::awaitable<Result<std::shared_ptr<Channel>>> dial(asio::any_io_executor ex,
                                                       asio::ssl::context& ctx, const Pins& pins,
                                                       const std::string& host, std::uint16_t port,
                                                       Principal expected, ChannelLimits limits) {
  asio::ip::tcp::resolver resolver(ex);
  asio::error_code ec;
  auto endpoints = co_await resolver.async_resolve(host, std::to_string(port),
                                                   asio::redirect_error(use_awaitable, ec));
  if (ec) co_return io_fail(fmt::format("resolve {}", host), ec);
  TlsStream stream(ex, ctx);
  co_await asio::async_connect(stream.lowest_layer(), endpoints,
                               asio::redirect_error(use_awaitable, ec));
  if (ec) co_return io_fail(fmt::format("connect {}:{}", host, port), ec);
  stream.lowest_layer().set_option(asio::ip::tcp::no_delay(true), ec);
  ec = co_await handshake(stream, asio::ssl::stream_base::client, kHandshakeTimeout);
  if (ec) co_return io_fail(fmt::format("TLS handshake with {}:{}", host, port), ec);
  Result<Principal> who = peer_principal(stream.native_handle(), pins);
  if (!who) co_return Unexpected(std::move(who).error());
  if (*who != expected) {
    co_return fail(AuthenticationFailed{AuthFailure::kCredentialMismatch, expected});
  }
  auto channel = std::make_shared<Channel>(std::move(stream), *who, limits);
  channel->start();
  co_return channel;
}

asio::awaitable<Result<std::shared_ptr<Channel>>> accept(asio::ip::tcp::socket socket,
                                                         asio::ssl::context& ctx, const Pins& pins,
                                                         const AcceptLimits& limits) {
  asio::error_code ec;
  socket.set_option(asio::ip::tcp::no_delay(true), ec);
  TlsStream stream(std::move(socket), ctx);
  ec = co_await handshake(stream, asio::ssl::stream_base::server, limits.handshake_timeout);
  if (ec) co_return fail(AuthenticationFailed{AuthFailure::kCredentialMismatch, Principal{}});
  Result<Principal> who = peer_principal(stream.native_handle(), pins);
  if (!who) co_return Unexpected(std::move(who).error());
  auto channel = std::make_shared<Channel>(
      std::move(stream), *who,
      who->kind == PrincipalKind::kReplica ? limits.replicas : limits.clients);
  channel->start();
  co_return channel;
}

}  // namespace phalanx::net
