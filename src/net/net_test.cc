// Frames, the client protocol, token buckets, and TLS with pinned
// certificates over real sockets on 127.0.0.1.
#include <gtest/gtest.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/use_awaitable.hpp>
#include <functional>

#include "net/channel.h"
#include "net/frame.h"
#include "net/rate_limit.h"
#include "net/tls.h"

namespace phalanx::net {
namespace {

const MalformedInput* malformed(const Error& e) {
  const SecurityError* s = e.security();
  return s != nullptr ? std::get_if<MalformedInput>(s) : nullptr;
}

TEST(Frame, HeaderRoundTripsAndLimitsAreEnforced) {
  EXPECT_EQ(*frame_length(frame_header(300), 1000), 300u);
  Result<std::size_t> over = frame_length(frame_header(1001), 1000);
  ASSERT_FALSE(over);
  ASSERT_NE(malformed(over.error()), nullptr);
  EXPECT_EQ(malformed(over.error())->reason, MalformedReason::kLengthOverLimit);
  Result<std::size_t> empty = frame_length(frame_header(0), 1000);
  ASSERT_FALSE(empty);
  EXPECT_EQ(malformed(empty.error())->reason, MalformedReason::kValueOutOfRange);
}

TEST(Frame, CallAndAnswerFramesRoundTripAndRefuseGarbage) {
  CallFrame call{42, to_bytes("signed request")};
  EXPECT_EQ(*codec::decode<CallFrame>(codec::encode(call)), call);
  AnswerFrame answer{{7, consensus::CallOutcome::kNotLeader, NodeId{3}, to_bytes("x")}};
  Result<AnswerFrame> back = codec::decode<AnswerFrame>(codec::encode(answer));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->answer.call_id, 7u);
  EXPECT_EQ(back->answer.outcome, consensus::CallOutcome::kNotLeader);
  EXPECT_EQ(back->answer.leader_hint, NodeId{3});
  Bytes bad = codec::encode(answer);
  bad[1] = 9;  // no such outcome
  EXPECT_FALSE(codec::decode<AnswerFrame>(bad));
  EXPECT_FALSE(codec::decode<CallFrame>(to_bytes("\xff\xff\xff")));
}

TEST(TokenBucket, RefillsAtItsRateUpToItsBurst) {
  TokenBucket b(10, 5);  // 10/s, bursts of 5
  const std::uint64_t t0 = 1'000'000'000;
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(b.take(t0));
  EXPECT_FALSE(b.take(t0));
  EXPECT_FALSE(b.take(t0 + 50'000'000));  // half a token
  EXPECT_TRUE(b.take(t0 + 100'000'000));  // one token after 100 ms
  EXPECT_FALSE(b.take(t0 + 100'000'000));
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(b.take(t0 + 60'000'000'000ULL));  // capped at the burst
  EXPECT_FALSE(b.take(t0 + 60'000'000'000ULL));
}

TEST(Tls, FingerprintsHaveOneTextForm) {
  TlsIdentity id = *generate_tls_identity("t");
  Fingerprint fp = *certificate_fingerprint(id.certificate_pem);
  EXPECT_EQ(*fingerprint_from_text(fingerprint_text(fp)), fp);
  EXPECT_FALSE(fingerprint_from_text("sha256:abcd"));
  EXPECT_FALSE(fingerprint_from_text(to_hex(fp.view())));  // no prefix
  EXPECT_FALSE(
      certificate_fingerprint("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"));
}

TEST(Tls, MismatchedKeyAndCertificateAreRefused) {
  TlsIdentity a = *generate_tls_identity("a");
  TlsIdentity b = *generate_tls_identity("b");
  TlsIdentity mixed(a.certificate_pem, b.private_key_pem);
  EXPECT_FALSE(make_tls_context(mixed, std::make_shared<Pins>()));
}

// One server (replica 1) and one dialer; reports what each side concluded.
struct HandshakeOutcome {
  Result<Principal> server = fail(ErrorCode::kIo, "not run");
  Result<Principal> client = fail(ErrorCode::kIo, "not run");
  Result<Bytes> frame = fail(ErrorCode::kIo, "not run");
};

// `sends` is what the dialer writes once connected; `limits` the server's
// for a client connection.
HandshakeOutcome handshake(
    const TlsIdentity& server_id, const Pins& server_pins, const TlsIdentity& client_id,
    const Pins& client_pins, Principal client_expects,
    const std::function<void(Channel&)>& sends = [](Channel& c) { c.send(to_bytes("hello")); },
    ChannelLimits limits = {.frame_bytes_max = 1024}) {
  asio::io_context io;
  auto server_ctx = *make_tls_context(server_id, std::make_shared<Pins>(server_pins));
  auto client_ctx = *make_tls_context(client_id, std::make_shared<Pins>(client_pins));
  asio::ip::tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
  const std::uint16_t port = acceptor.local_endpoint().port();
  HandshakeOutcome out;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        asio::ip::tcp::socket s = co_await acceptor.async_accept(asio::use_awaitable);
        auto ch = co_await accept(std::move(s), *server_ctx, server_pins,
                                  {kHandshakeTimeout, {.frame_bytes_max = 1024}, limits});
        if (!ch) {
          out.server = Unexpected(ch.error());
          co_return;
        }
        out.server = (*ch)->peer();
        out.frame = co_await (*ch)->read_frame();
        (*ch)->close();
      },
      asio::detached);
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        auto ch = co_await dial(io.get_executor(), *client_ctx, client_pins, "127.0.0.1", port,
                                client_expects, ChannelLimits{1024, 1 << 20});
        if (!ch) {
          out.client = Unexpected(ch.error());
          co_return;
        }
        out.client = (*ch)->peer();
        sends(**ch);
        // Stay connected until the server has read the frame and closed.
        Result<Bytes> ignored = co_await (*ch)->read_frame();
        (void)ignored;
      },
      asio::detached);
  io.run_for(std::chrono::seconds(10));
  return out;
}

TEST(Tls, PinnedPeersLearnEachOthersPrincipal) {
  TlsIdentity server = *generate_tls_identity("replica-1");
  TlsIdentity client = *generate_tls_identity("client-9");
  Pins pins{{*certificate_fingerprint(server.certificate_pem), Principal::replica(NodeId{1})},
            {*certificate_fingerprint(client.certificate_pem), Principal::client(ClientId{9})}};
  HandshakeOutcome o = handshake(server, pins, client, pins, Principal::replica(NodeId{1}));
  ASSERT_TRUE(o.server) << o.server.error().to_string();
  ASSERT_TRUE(o.client) << o.client.error().to_string();
  EXPECT_EQ(*o.server, Principal::client(ClientId{9}));
  EXPECT_EQ(*o.client, Principal::replica(NodeId{1}));
  ASSERT_TRUE(o.frame);
  EXPECT_EQ(*o.frame, to_bytes("hello"));
}

// An authenticated client that goes silent is closed after the idle
// timeout; one that starts a frame (two of its header bytes) and stops is
// refused as a truncated frame after the frame timeout.
TEST(Tls, SilentAndTricklingClientsAreClosedByTheirDeadlines) {
  TlsIdentity server = *generate_tls_identity("replica-1");
  TlsIdentity client = *generate_tls_identity("client-9");
  Pins pins{{*certificate_fingerprint(server.certificate_pem), Principal::replica(NodeId{1})},
            {*certificate_fingerprint(client.certificate_pem), Principal::client(ClientId{9})}};
  const ChannelLimits limits{.frame_bytes_max = 1024,
                             .idle_timeout = std::chrono::milliseconds(200),
                             .frame_timeout = std::chrono::milliseconds(200)};
  HandshakeOutcome silent = handshake(
      server, pins, client, pins, Principal::replica(NodeId{1}), [](Channel&) {}, limits);
  ASSERT_TRUE(silent.server) << silent.server.error().to_string();
  ASSERT_FALSE(silent.frame);
  EXPECT_EQ(silent.frame.error().code(), ErrorCode::kUnavailable)
      << silent.frame.error().to_string();

  const Bytes two_header_bytes = {0, 0};
  HandshakeOutcome trickling = handshake(
      server, pins, client, pins, Principal::replica(NodeId{1}),
      [&](Channel& c) { c.TEST_send_unframed(two_header_bytes); }, limits);
  ASSERT_FALSE(trickling.frame);
  ASSERT_NE(malformed(trickling.frame.error()), nullptr) << trickling.frame.error().to_string();
  EXPECT_EQ(malformed(trickling.frame.error())->reason, MalformedReason::kTruncated);

  HandshakeOutcome prompt = handshake(
      server, pins, client, pins, Principal::replica(NodeId{1}),
      [](Channel& c) { c.send(to_bytes("on time")); }, limits);
  ASSERT_TRUE(prompt.frame) << prompt.frame.error().to_string();
  EXPECT_EQ(*prompt.frame, to_bytes("on time"));
}

TEST(Tls, ACertificateNotInThePinsIsRefusedAtTheHandshake) {
  TlsIdentity server = *generate_tls_identity("replica-1");
  TlsIdentity stranger = *generate_tls_identity("client-9");
  const Pins server_pins{
      {*certificate_fingerprint(server.certificate_pem), Principal::replica(NodeId{1})}};
  Pins client_pins = server_pins;
  client_pins.emplace(*certificate_fingerprint(stranger.certificate_pem),
                      Principal::client(ClientId{9}));
  HandshakeOutcome o =
      handshake(server, server_pins, stranger, client_pins, Principal::replica(NodeId{1}));
  ASSERT_FALSE(o.server);
  const SecurityError* s = o.server.error().security();
  ASSERT_NE(s, nullptr);
  EXPECT_TRUE(std::holds_alternative<AuthenticationFailed>(*s));
  EXPECT_FALSE(o.frame);  // nothing was read from it
}

TEST(Tls, ADialerRefusesAServerPinnedToAnotherPrincipal) {
  TlsIdentity server = *generate_tls_identity("replica-1");
  TlsIdentity client = *generate_tls_identity("client-9");
  Pins pins{{*certificate_fingerprint(server.certificate_pem), Principal::replica(NodeId{1})},
            {*certificate_fingerprint(client.certificate_pem), Principal::client(ClientId{9})}};
  HandshakeOutcome o = handshake(server, pins, client, pins, Principal::replica(NodeId{2}));
  ASSERT_FALSE(o.client);
  ASSERT_NE(o.client.error().security(), nullptr);
}

}  // namespace
}  // namespace phalanx::net
