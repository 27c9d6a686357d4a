// Checkpoint certificates: q matching signed roots certify a height; a
// replica that signed another root is reported with its own signature.
#include "consensus/bft/checkpoint.h"

#include <gtest/gtest.h>

#include "testing/bft_fixture.h"

namespace phalanx::bft {
namespace {

using testing::Fixture;
using testing::key_of;

Checkpoint signed_checkpoint(const Fixture& f, NodeId signer, std::uint64_t height,
                             std::uint8_t root) {
  crypto::Hash32 r;
  r[0] = root;
  Checkpoint c{f.epoch(), height, BlockId{}, r, signer};
  security::sign(c, key_of(signer));
  return c;
}

TEST(Checkpoints, QMatchingRootsFormACertificateAnyoneCanCheck) {
  Fixture f(4);
  CheckpointTracker t(f.validators());
  t.add(signed_checkpoint(f, NodeId{1}, 16, 7));
  t.add(signed_checkpoint(f, NodeId{2}, 16, 7));
  EXPECT_FALSE(t.latest().has_value());
  t.add(signed_checkpoint(f, NodeId{2}, 16, 7));  // the same signer twice counts once
  EXPECT_FALSE(t.latest().has_value());
  t.add(signed_checkpoint(f, NodeId{3}, 16, 7));
  ASSERT_TRUE(t.latest().has_value());
  const std::vector<CheckpointCert> certified = t.take_certified();
  ASSERT_EQ(certified.size(), 1u);
  EXPECT_EQ(certified[0].height, 16u);
  EXPECT_TRUE(verify_checkpoint_cert(certified[0], f.validators()));
  const Bytes bytes = codec::encode(certified[0]);
  EXPECT_EQ(*codec::decode<CheckpointCert>(bytes), certified[0]);
  EXPECT_TRUE(t.take_divergences().empty());
}

TEST(Checkpoints, AReplicaThatSignedAnotherRootIsReportedWithItsSignature) {
  Fixture f(4);
  CheckpointTracker t(f.validators());
  const Checkpoint liar = signed_checkpoint(f, NodeId{4}, 16, 9);
  t.add(liar);  // before the certificate
  for (std::uint64_t i = 1; i <= 3; ++i) t.add(signed_checkpoint(f, NodeId{i}, 16, 7));
  std::vector<Divergence> d = t.take_divergences();
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].replica, NodeId{4});
  EXPECT_EQ(d[0].signed_checkpoint, liar);
  EXPECT_EQ(*codec::decode<Divergence>(codec::encode(d[0])), d[0]);
  // The proof checks: the liar's own signature, and q signatures on the other root.
  EXPECT_TRUE(security::verify(f.registry(), Untrusted<Checkpoint>(d[0].signed_checkpoint)));
  EXPECT_TRUE(verify_checkpoint_cert(d[0].certified, f.validators()));
  // Reported once per certified height, however often it repeats itself.
  t.add(liar);
  EXPECT_TRUE(t.take_divergences().empty());
  // After the certificate, a late false root is reported too.
  Fixture g(7);
  CheckpointTracker u(g.validators());
  for (std::uint64_t i = 1; i <= 5; ++i) u.add(signed_checkpoint(g, NodeId{i}, 32, 1));
  u.add(signed_checkpoint(g, NodeId{6}, 32, 2));
  EXPECT_EQ(u.take_divergences().size(), 1u);
}

TEST(Checkpoints, ShortOrForgedCertificatesAreRefused) {
  Fixture f(4);
  CheckpointTracker t(f.validators());
  for (std::uint64_t i = 1; i <= 3; ++i) t.add(signed_checkpoint(f, NodeId{i}, 16, 7));
  CheckpointCert cert = *t.latest();

  CheckpointCert short_cert = cert;
  short_cert.signers.pop_back();
  const Status s1 = verify_checkpoint_cert(short_cert, f.validators());
  ASSERT_FALSE(s1);
  EXPECT_EQ(kind_name(*s1.error().security()), "quorum_not_reached");

  CheckpointCert other_root = cert;
  other_root.root[0] ^= 1;  // the signatures are on another root
  const Status s2 = verify_checkpoint_cert(other_root, f.validators());
  ASSERT_FALSE(s2);
  EXPECT_EQ(kind_name(*s2.error().security()), "signature_invalid");

  CheckpointTracker fresh(f.validators());
  EXPECT_FALSE(fresh.add_certificate(other_root));
  EXPECT_FALSE(fresh.latest().has_value());
  EXPECT_TRUE(fresh.add_certificate(cert));
  EXPECT_EQ(fresh.latest(), cert);
}

TEST(Checkpoints, StateRootCoversHeightBlockStateAndSchedule) {
  const std::vector<NodeId> ids{NodeId{1}, NodeId{2}, NodeId{3}, NodeId{4}};
  const LeaderSchedule s(ids);
  LeaderSchedule moved(ids);
  moved.on_commit(Block{.epoch = Epoch{1}, .round = Round{3}, .qc = {}, .proposer = NodeId{2}});
  const crypto::Hash32 app = crypto::blake2b256(as_view("kv"));
  const crypto::Hash32 base = state_root(16, BlockId{}, 40, app, s);
  EXPECT_EQ(base, state_root(16, BlockId{}, 40, app, s));
  EXPECT_NE(base, state_root(17, BlockId{}, 40, app, s));
  EXPECT_NE(base, state_root(16, crypto::blake2b256(as_view("b")), 40, app, s));
  EXPECT_NE(base, state_root(16, BlockId{}, 41, app, s));
  EXPECT_NE(base, state_root(16, BlockId{}, 40, crypto::blake2b256(as_view("kv2")), s));
  EXPECT_NE(base, state_root(16, BlockId{}, 40, app, moved));
}

}  // namespace
}  // namespace phalanx::bft
