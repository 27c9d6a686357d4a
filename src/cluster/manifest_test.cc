#include "cluster/manifest.h"

#include <gtest/gtest.h>

#include "cluster/node_config.h"

namespace phalanx::cluster {
namespace {

net::Fingerprint fp(std::uint8_t b) {
  std::array<std::uint8_t, 32> a{};
  a.fill(b);
  return net::Fingerprint(a);
}

Manifest sample(consensus::FaultModel mode, std::uint32_t n, std::uint32_t q) {
  Manifest m;
  m.cluster = ClusterId(std::array<std::uint8_t, 16>{1, 2, 3});
  m.mode = mode;
  m.quorum = q;
  for (std::uint32_t i = 1; i <= n; ++i) {
    m.replicas.push_back({NodeId{i}, "127.0.0.1", static_cast<std::uint16_t>(7000 + i),
                          crypto::KeyPair::generate().public_key(), fp(static_cast<std::uint8_t>(i))});
  }
  m.clients.push_back({ClientId{1}, Role::kClient, crypto::KeyPair::generate().public_key(),
                       fp(100), false});
  m.clients.push_back({ClientId{2}, Role::kClient, crypto::KeyPair::generate().public_key(),
                       fp(101), true});
  return m;
}

TEST(Manifest, RoundTripsThroughToml) {
  const Manifest m = sample(consensus::FaultModel::kByzantine, 4, 3);
  Result<Manifest> back = Manifest::parse(m.to_toml());
  ASSERT_TRUE(back) << back.error().to_string();
  EXPECT_EQ(back->cluster, m.cluster);
  EXPECT_EQ(back->mode, m.mode);
  EXPECT_EQ(back->quorum, 3u);
  ASSERT_EQ(back->replicas.size(), 4u);
  EXPECT_EQ(back->replicas[3].port, 7004);
  EXPECT_EQ(back->replicas[3].public_key, m.replicas[3].public_key);
  EXPECT_EQ(back->replicas[3].tls_fingerprint, m.replicas[3].tls_fingerprint);
  ASSERT_EQ(back->clients.size(), 2u);
  EXPECT_TRUE(back->clients[1].revoked);
}

TEST(Manifest, ARevokedClientIsTrustedForNothing) {
  const Manifest m = sample(consensus::FaultModel::kCrash, 3, 2);
  const net::Pins pins = m.pins();
  EXPECT_TRUE(pins.contains(fp(100)));
  EXPECT_FALSE(pins.contains(fp(101)));
  const security::TrustRegistry registry = *m.registry();
  EXPECT_NE(registry.find(Principal::client(ClientId{1})), nullptr);
  EXPECT_EQ(registry.find(Principal::client(ClientId{2})), nullptr);
}

TEST(Manifest, RefusesWhatWouldWeakenTheCluster) {
  auto refused = [](const Manifest& m, std::string_view because) {
    Result<Manifest> r = Manifest::parse(m.to_toml());
    ASSERT_FALSE(r) << because;
    EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
  };
  refused(sample(consensus::FaultModel::kByzantine, 3, 3), "byzantine mode with 3 replicas");
  refused(sample(consensus::FaultModel::kByzantine, 4, 2), "quorums that need not overlap");
  refused(sample(consensus::FaultModel::kCrash, 3, 1), "crash quorum below a majority");
  Manifest dup_id = sample(consensus::FaultModel::kCrash, 3, 2);
  dup_id.replicas[2].id = NodeId{2};
  refused(dup_id, "two replicas with one id");
  Manifest dup_pin = sample(consensus::FaultModel::kCrash, 3, 2);
  dup_pin.clients[0].tls_fingerprint = dup_pin.replicas[0].tls_fingerprint;
  refused(dup_pin, "one certificate pinned to two principals");
  Manifest dup_key = sample(consensus::FaultModel::kCrash, 3, 2);
  dup_key.clients[0].public_key = dup_key.replicas[1].public_key;
  refused(dup_key, "one signing key for two principals");
  Manifest dup_addr = sample(consensus::FaultModel::kCrash, 3, 2);
  dup_addr.replicas[1].port = dup_addr.replicas[0].port;
  refused(dup_addr, "two replicas at one address");
}

TEST(Manifest, TheEvidenceAppAndItsGenesisConfigurationRoundTrip) {
  Manifest m = sample(consensus::FaultModel::kByzantine, 4, 3);
  EXPECT_EQ(Manifest::parse(m.to_toml())->app, App::kKv);  // absent: kv
  m.app = App::kEvidence;
  m.evidence.trim = 2;
  m.evidence.min_sources = 7;
  m.evidence.resolution = evidence::nats(0.001);
  m.evidence.weighted = false;
  Result<Manifest> back = Manifest::parse(m.to_toml());
  ASSERT_TRUE(back) << back.error().to_string();
  EXPECT_EQ(back->app, App::kEvidence);
  EXPECT_EQ(back->evidence, m.evidence);

  // An [evidence] table out of range names the field; crash mode is refused.
  std::string text = m.to_toml();
  text.replace(text.find("min_sources = 7"), 15, "min_sources = 4");
  Result<Manifest> low = Manifest::parse(text);
  ASSERT_FALSE(low);
  EXPECT_NE(low.error().message().find("min_sources"), std::string::npos);
  Manifest crash = sample(consensus::FaultModel::kCrash, 3, 2);
  crash.app = App::kEvidence;
  Result<Manifest> refused = Manifest::parse(crash.to_toml());
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message().find("byzantine mode only"), std::string::npos);
  text = m.to_toml();
  EXPECT_FALSE(Manifest::parse(text.replace(text.find("app = 'evidence'"), 16, "app = 'ledger'")));
}

TEST(Manifest, BadTextGetsAReasonNotACrash) {
  EXPECT_FALSE(Manifest::parse("this is = = not toml"));
  EXPECT_FALSE(Manifest::parse(""));
  std::string text = sample(consensus::FaultModel::kCrash, 3, 2).to_toml();
  EXPECT_FALSE(Manifest::parse(text.replace(text.find("crash"), 5, "chaos")));
  Result<Manifest> r = Manifest::parse("cluster = 5\n");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("cluster"), std::string::npos);
}

TEST(NodeConfig, RoundTripsWithPathsRelativeToItsDirectory) {
  NodeConfig c;
  c.id = NodeId{2};
  c.manifest = "/d/manifest.toml";
  c.data_dir = "/d/replica-2/data";
  c.identity_key = "/d/replica-2/node.key";
  c.tls_key = "/d/replica-2/tls.key";
  c.tls_certificate = "/d/replica-2/tls.crt";
  c.admin = Endpoint{"127.0.0.1", 8002};
  c.limits.client_burst = 7;
  c.limits.handshakes_per_address_max = 4;
  c.limits.client_idle_timeout_ms = 0;  // never
  c.verify_threads = 0;
  c.group_commit = false;
  c.background_sync = false;
  c.snapshot_every = 5'000;
  const std::string text = c.to_toml("/d/replica-2");
  EXPECT_NE(text.find("../manifest.toml"), std::string::npos);
  Result<NodeConfig> back = NodeConfig::parse(text, "/elsewhere/replica-2");
  ASSERT_TRUE(back) << back.error().to_string();
  EXPECT_EQ(back->manifest, "/elsewhere/manifest.toml");
  EXPECT_EQ(back->data_dir, "/elsewhere/replica-2/data");
  EXPECT_EQ(back->admin->port, 8002);
  EXPECT_FALSE(back->listen);
  EXPECT_EQ(back->limits.client_burst, 7u);
  EXPECT_EQ(back->limits.handshakes_per_address_max, 4u);
  EXPECT_EQ(back->limits.client_idle_timeout_ms, 0u);
  EXPECT_EQ(back->limits.handshake_timeout_ms, NodeLimits{}.handshake_timeout_ms);
  std::string instant = text;
  const std::size_t timeout = instant.find("handshake_timeout_ms = 2000");
  ASSERT_NE(timeout, std::string::npos) << text;
  instant.replace(timeout, 27, "handshake_timeout_ms = 5");  // below 100 ms: refused
  EXPECT_FALSE(NodeConfig::parse(instant, "/"));
  EXPECT_EQ(back->verify_threads, 0u);
  EXPECT_FALSE(back->group_commit);
  EXPECT_FALSE(back->background_sync);
  EXPECT_EQ(back->snapshot_every, 5'000u);
  std::string never = text;
  const std::size_t every = never.find("snapshot_every = 5000");
  ASSERT_NE(every, std::string::npos) << text;
  never.replace(every, 21, "snapshot_every = 0");
  EXPECT_FALSE(NodeConfig::parse(never, "/"));
  std::string too_many = text;
  const std::size_t at = too_many.find("verify_threads = 0");
  ASSERT_NE(at, std::string::npos) << text;
  too_many.replace(at, 18, "verify_threads = 65");
  EXPECT_FALSE(NodeConfig::parse(too_many, "/"));
  EXPECT_FALSE(NodeConfig::parse("id = 0\n", "/"));
  EXPECT_FALSE(Endpoint::parse("127.0.0.1"));
  EXPECT_FALSE(Endpoint::parse("127.0.0.1:70000"));
  EXPECT_FALSE(Endpoint::parse(":80"));
}

}  // namespace
}  // namespace phalanx::cluster
