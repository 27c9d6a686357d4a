// BFT frames: every payload round-trips; what each malformed frame gets.
#include "consensus/bft/wire.h"

#include <gtest/gtest.h>

#include "testing/bft_fixture.h"

namespace phalanx::bft {
namespace {

using testing::Fixture;

std::vector<Payload> every_payload(const Fixture& f) {
  const Block genesis = genesis_block(f.epoch());
  const Block b1 = f.block(Round{1}, genesis_qc(f.epoch()));
  Vote v{f.epoch(), Round{1}, b1.id(), NodeId{2}};
  security::sign(v, testing::key_of(NodeId{2}));
  Timeout t{f.epoch(), Round{2}, f.qc_for(b1), NodeId{3}};
  security::sign(t, testing::key_of(NodeId{3}));
  t.last_tc = f.tc(Round{1}, {Round{0}, Round{0}, Round{0}});
  const Block b3 =
      f.block(Round{3}, f.qc_for(b1), f.tc(Round{2}, {Round{1}, Round{1}, Round{1}}), NodeId{4});
  Checkpoint c{f.epoch(), 128, b3.id(), crypto::blake2b256(as_view("state")), NodeId{2}};
  security::sign(c, testing::key_of(NodeId{2}));
  SnapshotChunk first{
      128, 0, f.checkpoint_cert(128, b3.id(), c.root, 3),
      crypto::ChunkManifest::of(
          {crypto::blake2b256(as_view("state")), crypto::blake2b256(as_view("more"))}, 9),
      to_bytes("state")};
  return {b1,
          v,
          t,
          SyncRequest{b1.id()},
          SyncResponse{{b1, b3}},
          c,
          SnapshotRequest{128, 1},
          first,
          SnapshotChunk{128, 1, std::nullopt, std::nullopt, to_bytes("more")}};
}

TEST(BftWire, EveryPayloadRoundTrips) {
  const Fixture f(4);
  for (const Payload& p : every_payload(f)) {
    const Envelope e{NodeId{1}, NodeId{2}, p};
    const Bytes frame = encode_envelope(e);
    auto back = decode_envelope(frame, NodeId{2});
    ASSERT_TRUE(back) << describe(p) << ": " << back.error().to_string();
    EXPECT_EQ(back->unverified().from, NodeId{1});
    EXPECT_EQ(encode_envelope(back->unverified()), frame) << describe(p);
  }
}

TEST(BftWire, EvidenceRoundTrips) {
  const Fixture f(4);
  const auto payloads = every_payload(f);
  const EquivocationProof proof{NodeId{1}, Round{1}, payloads[0], payloads[4]};
  codec::Writer w;
  encode_evidence(w, proof);
  const Bytes bytes = w.take();
  codec::Reader r(bytes);
  auto back = decode_evidence(r);
  ASSERT_TRUE(back);
  ASSERT_TRUE(r.finish());
  codec::Writer again;
  encode_evidence(again, *back);
  EXPECT_EQ(again.take(), bytes);
}

// Every strict prefix and every extension of a frame is refused.
TEST(BftWire, TruncatedAndExtendedFramesAreMalformed) {
  const Fixture f(4);
  for (const Payload& p : every_payload(f)) {
    Bytes frame = encode_envelope({NodeId{1}, NodeId{2}, p});
    for (std::size_t n = 0; n < frame.size(); n += 7) {
      auto r = decode_envelope(ByteView(frame).first(n));
      ASSERT_FALSE(r) << describe(p) << " prefix " << n;
      ASSERT_NE(r.error().security(), nullptr);
    }
    frame.push_back(0);
    EXPECT_FALSE(decode_envelope(frame));
  }
}

TEST(BftWire, RefusesWrongReceiverBadTagAndOversizedSync) {
  const Fixture f(4);
  const Bytes vote = encode_envelope({NodeId{1}, NodeId{2}, every_payload(f)[1]});
  EXPECT_TRUE(decode_envelope(vote, NodeId{2}));
  auto other = decode_envelope(vote, NodeId{3});
  ASSERT_FALSE(other);
  EXPECT_EQ(std::get<MalformedInput>(*other.error().security()).reason,
            MalformedReason::kValueOutOfRange);

  Bytes bad_tag = vote;
  bad_tag[2] = 9;  // from, to (one byte each), then the payload tag
  auto tagged = decode_envelope(bad_tag);
  ASSERT_FALSE(tagged);
  EXPECT_EQ(std::get<MalformedInput>(*tagged.error().security()).reason, MalformedReason::kBadTag);

  // A sync response claiming more blocks than allowed is refused before
  // any block is read.
  codec::Writer w;
  w.id(NodeId{1});
  w.id(NodeId{2});
  w.u8(4);
  w.varint(kSyncBlocksMax + 1);
  auto big = decode_envelope(w.take());
  ASSERT_FALSE(big);
  EXPECT_EQ(std::get<MalformedInput>(*big.error().security()).reason,
            MalformedReason::kLengthOverLimit);

  const Bytes huge(kFrameBytesMax + 1, 0);
  EXPECT_FALSE(decode_envelope(huge));
}

// The certificate and manifest come with chunk 0 and only with it: any
// other combination has a second encoding and is refused.
TEST(BftWire, SnapshotChunksCarryTheirHeaderExactlyOnce) {
  const Fixture f(4);
  const auto payloads = every_payload(f);
  SnapshotChunk later = std::get<SnapshotChunk>(payloads[8]);
  SnapshotChunk first = std::get<SnapshotChunk>(payloads[7]);
  later.cert = first.cert;
  first.manifest.reset();
  for (const SnapshotChunk& bad : {later, first}) {
    auto r = decode_envelope(encode_envelope({NodeId{1}, NodeId{2}, bad}));
    ASSERT_FALSE(r);
    EXPECT_EQ(std::get<MalformedInput>(*r.error().security()).reason,
              MalformedReason::kNonCanonical);
  }
}

TEST(BftWire, SignerIsThePayloadsAuthor) {
  const Fixture f(4);
  const auto p = every_payload(f);
  EXPECT_EQ(signed_by(p[0]), NodeId{1});
  EXPECT_EQ(signed_by(p[1]), NodeId{2});
  EXPECT_EQ(signed_by(p[2]), NodeId{3});
  EXPECT_EQ(signed_by(p[3]), std::nullopt);
  EXPECT_EQ(signed_by(p[4]), std::nullopt);
}

}  // namespace
}  // namespace phalanx::bft
