// State transfer, the fetching side: what a certified snapshot must show
// before it is assembled, and what each lie gets.
#include "consensus/bft/state_transfer.h"

#include <gtest/gtest.h>

#include "testing/bft_fixture.h"

namespace phalanx::bft {
namespace {

using testing::Fixture;

const std::vector<NodeId> kFour{NodeId{1}, NodeId{2}, NodeId{3}, NodeId{4}};

// A peer's certified snapshot at height 32, cut into chunks of 4 bytes.
struct Offer {
  CheckpointCert cert;
  crypto::ChunkManifest manifest;
  std::vector<Bytes> chunks;
  std::uint64_t height = 32;  // what its chunks say they are of

  Offer(const Fixture& f, const Bytes& state, std::uint32_t signers = 3) {
    std::vector<crypto::Hash32> hashes;
    for (std::size_t off = 0; off < state.size(); off += 4) {
      chunks.emplace_back(
          state.begin() + static_cast<std::ptrdiff_t>(off),
          state.begin() + static_cast<std::ptrdiff_t>(std::min(off + 4, state.size())));
      hashes.push_back(crypto::blake2b256(chunks.back()));
    }
    const BlockId block = crypto::blake2b256(as_view("block 32"));
    cert = f.checkpoint_cert(32, block, crypto::blake2b256(as_view("root")), signers);
    manifest = crypto::ChunkManifest::of(std::move(hashes), state.size());
  }

  [[nodiscard]] SnapshotChunk chunk(std::uint64_t i) const {
    SnapshotChunk c{height, i, std::nullopt, std::nullopt, chunks[i]};
    if (i == 0) {
      c.cert = cert;
      c.manifest = manifest;
    }
    return c;
  }
};

SnapshotFetch fetch_for(const Fixture& f, SnapshotFetch::Options o = {}) {
  return SnapshotFetch(f.validators(), NodeId{4}, kFour, o);
}

// Asks the first peer (replica 1: the one after replica 4) and returns it.
NodeId start(SnapshotFetch& fetch) {
  const std::optional<SnapshotFetch::Ask> ask = fetch.tick();
  EXPECT_TRUE(ask.has_value());
  EXPECT_EQ(ask->request.height, 0u);  // "your newest"
  EXPECT_EQ(ask->request.chunk, 0u);
  return ask->to;
}

SnapshotFault fault_of(const Error& e) { return std::get<SnapshotRefused>(*e.security()).fault; }

// Chunk 0 alone, then runs of kChunksPerRun: the fetcher asks for the
// first run after chunk 0 and for each next run after the last chunk of
// the one before, and for nothing in between.
TEST(SnapshotFetch, AssemblesACertifiedSnapshotRunByRun) {
  const Fixture f(4);
  const Bytes state = to_bytes(std::string(90, 's') + "the end");  // 25 chunks of 4 bytes
  const Offer offer(f, state);
  ASSERT_GT(offer.chunks.size(), 2 * SnapshotRequest::kChunksPerRun);
  SnapshotFetch fetch = fetch_for(f);
  const NodeId peer = start(fetch);
  EXPECT_EQ(peer, NodeId{1});
  for (std::uint64_t i = 0; i + 1 < offer.chunks.size(); ++i) {
    auto step = fetch.on_chunk(peer, offer.chunk(i), 10);
    ASSERT_TRUE(step) << step.error().to_string();
    const auto* ask = std::get_if<SnapshotFetch::Ask>(&*step);
    const bool run_ends = i == 0 || (i + 1) % SnapshotRequest::kChunksPerRun == 0;
    ASSERT_EQ(ask != nullptr, run_ends) << "after chunk " << i;
    if (!ask) continue;
    EXPECT_EQ(ask->to, peer);
    EXPECT_EQ(ask->request.height, 32u);
    EXPECT_EQ(ask->request.chunk, i + 1);
  }
  auto last = fetch.on_chunk(peer, offer.chunk(offer.chunks.size() - 1), 10);
  ASSERT_TRUE(last);
  const auto* done = std::get_if<SnapshotFetch::Complete>(&*last);
  ASSERT_NE(done, nullptr);
  EXPECT_EQ(done->state, state);
  EXPECT_EQ(done->cert, offer.cert);
  EXPECT_EQ(done->from, peer);
  EXPECT_FALSE(fetch.active());
}

// Chunks of a run that overtake each other wait for their turn (checked
// then); a chunk that never comes is asked for again after reask_ticks,
// from the same replica; chunks from anyone else are ignored.
TEST(SnapshotFetch, ChunksOutOfOrderWaitAndAMissingOneIsAskedAgain) {
  const Fixture f(4);
  const Offer offer(f, to_bytes("0123456789abcdef"));
  SnapshotFetch fetch = fetch_for(f);
  const NodeId peer = start(fetch);
  // Not the replica asked; nothing asked yet from it.
  auto other = fetch.on_chunk(NodeId{2}, offer.chunk(0), 10);
  ASSERT_TRUE(other);
  EXPECT_TRUE(std::holds_alternative<std::monostate>(*other));
  ASSERT_TRUE(fetch.on_chunk(peer, offer.chunk(0), 10));
  // Chunks 2 and 3 before chunk 1: kept, nothing asked.
  for (std::uint64_t i : {2u, 3u}) {
    auto early = fetch.on_chunk(peer, offer.chunk(i), 10);
    ASSERT_TRUE(early);
    EXPECT_TRUE(std::holds_alternative<std::monostate>(*early));
  }
  // Chunk 1 is lost: asked for again, from the same replica, after reask_ticks.
  std::optional<SnapshotFetch::Ask> again;
  for (std::uint32_t t = 0; t < SnapshotFetch::Options{}.reask_ticks && !again; ++t) {
    again = fetch.tick();
  }
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->to, peer);
  EXPECT_EQ(again->request.chunk, 1u);
  // When it comes, the waiting chunks complete the snapshot.
  auto done = fetch.on_chunk(peer, offer.chunk(1), 10);
  ASSERT_TRUE(done);
  const auto* complete = std::get_if<SnapshotFetch::Complete>(&*done);
  ASSERT_NE(complete, nullptr);
  EXPECT_EQ(complete->state, to_bytes("0123456789abcdef"));
}

TEST(SnapshotFetch, AForgedOrShortCertificateIsRefusedAndTheNextReplicaAsked) {
  const Fixture f(4);
  Offer forged(f, to_bytes("state"));
  forged.cert.signers[1].signature[0] ^= 1;
  Offer short_of_q(f, to_bytes("state"), 2);
  SnapshotFetch fetch = fetch_for(f);
  NodeId peer = start(fetch);
  auto bad_sig = fetch.on_chunk(peer, forged.chunk(0), 10);
  ASSERT_FALSE(bad_sig);
  EXPECT_TRUE(std::holds_alternative<SignatureInvalid>(*bad_sig.error().security()));
  EXPECT_FALSE(fetch.active());
  peer = start(fetch);
  EXPECT_EQ(peer, NodeId{2});
  auto too_few = fetch.on_chunk(peer, short_of_q.chunk(0), 10);
  ASSERT_FALSE(too_few);
  EXPECT_TRUE(std::holds_alternative<QuorumNotReached>(*too_few.error().security()));
  EXPECT_EQ(start(fetch), NodeId{3});
}

TEST(SnapshotFetch, AManifestThatDoesNotDescribeTheCertifiedStateIsRefused) {
  const Fixture f(4);
  const auto refused = [&](const Offer& o, SnapshotFetch::Options options = {}) {
    SnapshotFetch fetch = fetch_for(f, options);
    const NodeId peer = start(fetch);
    auto r = fetch.on_chunk(peer, o.chunk(0), 10);
    EXPECT_FALSE(r);
    return r ? SnapshotFault{} : fault_of(r.error());
  };
  Offer other_height(f, to_bytes("state bytes"));
  other_height.height = 31;
  EXPECT_EQ(refused(other_height), SnapshotFault::kManifest);
  Offer bad_root(f, to_bytes("state bytes"));
  bad_root.manifest.root[0] ^= 1;
  EXPECT_EQ(refused(bad_root), SnapshotFault::kManifest);
  Offer more_chunks_than_bytes(f, to_bytes("state bytes"));
  more_chunks_than_bytes.manifest.total_bytes = 1;
  EXPECT_EQ(refused(more_chunks_than_bytes), SnapshotFault::kManifest);
  // Larger than this replica accepts.
  EXPECT_EQ(refused(Offer(f, Bytes(64, 7)), {.bytes_max = 63}), SnapshotFault::kManifest);
}

TEST(SnapshotFetch, AChunkThatDoesNotMatchItsHashIsRefused) {
  const Fixture f(4);
  const Offer offer(f, to_bytes("0123456789abcdef"));
  SnapshotFetch fetch = fetch_for(f);
  const NodeId peer = start(fetch);
  ASSERT_TRUE(fetch.on_chunk(peer, offer.chunk(0), 10));
  SnapshotChunk flipped = offer.chunk(1);
  flipped.data[0] ^= 1;
  auto r = fetch.on_chunk(peer, flipped, 10);
  ASSERT_FALSE(r);
  EXPECT_EQ(fault_of(r.error()), SnapshotFault::kChunkHash);
  EXPECT_EQ(std::get<SnapshotRefused>(*r.error().security()).peer, Principal::replica(peer));
  EXPECT_FALSE(fetch.active());
}

TEST(SnapshotFetch, ASnapshotNotAheadOrASilentPeerMovesToTheNextReplica) {
  const Fixture f(4);
  const Offer offer(f, to_bytes("state"));
  SnapshotFetch fetch = fetch_for(f, {.stall_ticks = 3});
  const NodeId first = start(fetch);
  // This replica is already at height 40: the peer's snapshot at 32 is no use.
  auto stale = fetch.on_chunk(first, offer.chunk(0), 40);
  ASSERT_TRUE(stale);
  EXPECT_TRUE(std::holds_alternative<std::monostate>(*stale));
  const std::optional<SnapshotFetch::Ask> next = fetch.tick();
  ASSERT_TRUE(next);
  EXPECT_EQ(next->to, NodeId{2});
  // Replica 2 says nothing: after stall_ticks, replica 3 is asked; never this one (4).
  EXPECT_FALSE(fetch.tick());
  EXPECT_FALSE(fetch.tick());
  const std::optional<SnapshotFetch::Ask> third = fetch.tick();
  ASSERT_TRUE(third);
  EXPECT_EQ(third->to, NodeId{3});
  std::optional<SnapshotFetch::Ask> wrapped;
  for (int i = 0; i < 3 && !wrapped; ++i) wrapped = fetch.tick();
  ASSERT_TRUE(wrapped);
  EXPECT_EQ(wrapped->to, NodeId{1});
}

TEST(StateSnapshot, RoundTripsAndRefusesAScheduleOfOtherReplicas) {
  const Fixture f(4);
  LeaderSchedule schedule(kFour);
  const Block tip = f.block(Round{1}, genesis_qc(f.epoch()));
  schedule.on_commit(tip);
  const StateSnapshot state{1, 3, tip, schedule, to_bytes("app")};
  const Bytes bytes = codec::encode(state);
  codec::Reader r(bytes);
  Result<StateSnapshot> back = StateSnapshot::decode(r, kFour, {});
  ASSERT_TRUE(back);
  ASSERT_TRUE(r.finish());
  EXPECT_EQ(codec::encode(*back), bytes);
  EXPECT_EQ(back->tip.id(), tip.id());
  codec::Reader again(bytes);
  EXPECT_FALSE(StateSnapshot::decode(again, {NodeId{7}, NodeId{8}, NodeId{9}, NodeId{10}}, {}));
}

}  // namespace
}  // namespace phalanx::bft
