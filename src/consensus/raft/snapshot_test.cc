// Log compaction and InstallSnapshot in the Raft core.
#include <gtest/gtest.h>

#include "consensus/raft/core.h"
#include "crypto/hash.h"
#include "testing/raft_cluster.h"

namespace phalanx::raft {
namespace {

using testing::TestCluster;

std::uint64_t other_than(NodeId leader) { return leader.value() % 3 + 1; }

TEST(RaftSnapshot, FollowerBehindTheCompactedLogIsSentTheSnapshotInChunks) {
  TestCluster c(3);
  c.tick_all(30);
  const NodeId leader = *c.leader();
  const std::uint64_t lagging = other_than(leader);
  c.isolate(lagging);
  for (int k = 0; k < 20; ++k)
    (void)c.node(leader.value()).propose(to_bytes("cmd" + std::to_string(k)));
  c.settle();
  c.tick_all(3);
  Core& l = c.node(leader.value());
  ASSERT_GE(l.applied_index().value(), 21u);
  c.snapshot(leader.value(), l.applied_index());
  EXPECT_EQ(l.base_index(), l.applied_index());
  EXPECT_TRUE(l.log().empty());

  c.heal();
  c.tick_all(20);
  EXPECT_EQ(c.installs(lagging), 1u);
  EXPECT_GT(c.chunks_received(lagging), 3u);  // the state is many 16-byte chunks
  Core& f = c.node(lagging);
  EXPECT_EQ(f.base_index(), l.base_index());
  EXPECT_EQ(c.applied(lagging), c.applied(leader.value()));

  // Replication carries on from the snapshot as usual.
  (void)l.propose(to_bytes("after"));
  c.settle();
  c.tick_all(3);
  ASSERT_FALSE(c.applied(lagging).empty());
  EXPECT_EQ(c.applied(lagging).back().data, to_bytes("after"));
  EXPECT_EQ(f.last_index(), l.last_index());
}

TEST(RaftSnapshot, CompactionKeepsEntriesAfterTheCompactedPrefix) {
  TestCluster c(3);
  c.tick_all(30);
  const NodeId leader = *c.leader();
  Core& l = c.node(leader.value());
  for (int k = 0; k < 10; ++k) (void)l.propose(to_bytes("x"));
  c.settle();
  c.tick_all(3);
  const LogIndex at = l.applied_index();
  c.snapshot(leader.value(), LogIndex{at.value() - 4});
  EXPECT_EQ(l.base_index().value(), at.value() - 4);
  EXPECT_EQ(l.log().size(), 4u);
  EXPECT_EQ(l.log().front().index.value(), at.value() - 3);
  EXPECT_EQ(l.term_at(l.base_index()), l.term());
}

class SnapshotReceiver : public ::testing::Test {
 protected:
  // Node 2, a follower of node 1 in term 3, with an empty log.
  SnapshotReceiver()
      : core_(Config{.id = NodeId{2}, .voters = {NodeId{1}, NodeId{2}, NodeId{3}}},
              Persisted{{Term{3}, std::nullopt, LogIndex{0}}, std::nullopt, {}}, 5) {
    for (std::uint64_t i = 1; i <= 3; ++i) {
      crypto::Seed s;
      s[0] = static_cast<std::uint8_t>(i);
      EXPECT_TRUE(
          registry_.add({Principal::replica(NodeId{i}), crypto::KeyPair::from_seed(s).public_key(),
                         phalanx::Role::kReplica}));
    }
    chunks_ = {to_bytes("first chunk"), to_bytes("second"), to_bytes("third")};
    std::vector<crypto::Hash32> hashes;
    for (const Bytes& b : chunks_) hashes.push_back(crypto::blake2b256(b));
    manifest_.chunks = crypto::ChunkManifest::of(std::move(hashes), 22);
    Membership m{.voters = {NodeId{1}, NodeId{2}, NodeId{3}}};
    manifest_.meta = {LogIndex{40}, Term{3}, {}, codec::encode(m)};
  }

  void append(std::uint64_t from, std::uint64_t to, Term term) {
    AppendEntries a{LogIndex{from - 1}, from == 1 ? Term{0} : term, {}, LogIndex{0}, 0};
    for (std::uint64_t i = from; i <= to; ++i) {
      a.entries.push_back({term, LogIndex{i}, EntryKind::kCommand, to_bytes("e")});
    }
    Message m{NodeId{1}, NodeId{2}, Term{3}, std::move(a)};
    auto v = security::verify_channel(registry_, Principal::replica(m.from), Untrusted<Message>(m));
    core_.step(*security::authorize(policy_, *v));
    last_ = core_.take_ready();
  }

  InstallSnapshotReply send(std::uint64_t chunk, Bytes data,
                            std::optional<SnapshotManifest> manifest = std::nullopt) {
    Message m{
        NodeId{1}, NodeId{2}, Term{3},
        InstallSnapshot{LogIndex{40}, Term{3}, chunk, std::move(manifest), std::move(data), 0}};
    auto a = security::verify_channel(registry_, Principal::replica(m.from), Untrusted<Message>(m));
    core_.step(*security::authorize(policy_, *a));
    last_ = core_.take_ready();
    for (const Message& out : last_.messages) {
      if (const auto* r = std::get_if<InstallSnapshotReply>(&out.body)) return *r;
    }
    ADD_FAILURE() << "no reply";
    return {};
  }

  Core core_;
  Ready last_;
  std::vector<Bytes> chunks_;
  SnapshotManifest manifest_;
  security::TrustRegistry registry_;
  security::Policy policy_ = security::Policy::standard();
};

TEST_F(SnapshotReceiver, InstallsAfterTheLastChunkOnly) {
  InstallSnapshotReply r = send(0, chunks_[0], manifest_);
  EXPECT_FALSE(r.done);
  EXPECT_EQ(r.next_chunk, 1u);
  ASSERT_EQ(last_.snapshot_chunks.size(), 1u);
  EXPECT_EQ(last_.snapshot_chunks[0].manifest, manifest_);
  EXPECT_FALSE(last_.snapshot_installed);
  EXPECT_EQ(send(1, chunks_[1]).next_chunk, 2u);
  r = send(2, chunks_[2]);
  EXPECT_TRUE(r.done);
  EXPECT_EQ(r.match, LogIndex{40});
  ASSERT_TRUE(last_.snapshot_installed);
  EXPECT_EQ(*last_.snapshot_installed, manifest_);
  ASSERT_TRUE(last_.hard_state);  // the new commit index goes to disk with it
  EXPECT_EQ(core_.commit_index(), LogIndex{40});
  EXPECT_EQ(core_.applied_index(), LogIndex{40});
  EXPECT_EQ(core_.base_index(), LogIndex{40});
  EXPECT_EQ(core_.term_at(LogIndex{40}), Term{3});
}

TEST_F(SnapshotReceiver, ATamperedChunkIsRefusedAndCounted) {
  (void)send(0, chunks_[0], manifest_);
  const InstallSnapshotReply r = send(1, to_bytes("secoNd"));
  EXPECT_FALSE(r.done);
  EXPECT_EQ(r.next_chunk, 1u);  // send chunk 1 again
  EXPECT_TRUE(last_.snapshot_chunks.empty());
  EXPECT_EQ(core_.snapshot_rejections(SnapshotRejection::kBadChunk), 1u);
  // The genuine chunk is still taken afterwards.
  EXPECT_EQ(send(1, chunks_[1]).next_chunk, 2u);
}

TEST_F(SnapshotReceiver, AManifestThatDoesNotMatchItsRootIsRefused) {
  SnapshotManifest forged = manifest_;
  forged.chunks.chunk_hashes[2] = crypto::blake2b256(to_bytes("other"));  // root left as it was
  const InstallSnapshotReply r = send(0, chunks_[0], forged);
  EXPECT_FALSE(r.done);
  EXPECT_TRUE(last_.snapshot_chunks.empty());
  EXPECT_EQ(core_.snapshot_rejections(SnapshotRejection::kBadManifest), 1u);
  // Chunk 0 without any manifest is refused the same way.
  (void)send(0, chunks_[0]);
  EXPECT_EQ(core_.snapshot_rejections(SnapshotRejection::kBadManifest), 2u);
}

TEST_F(SnapshotReceiver, ChunksOutOfOrderAreRefusedWithTheChunkWanted) {
  InstallSnapshotReply r = send(1, chunks_[1]);  // nothing started
  EXPECT_EQ(r.next_chunk, 0u);
  (void)send(0, chunks_[0], manifest_);
  r = send(2, chunks_[2]);  // chunk 1 lost
  EXPECT_EQ(r.next_chunk, 1u);
  EXPECT_TRUE(last_.snapshot_chunks.empty());
  EXPECT_EQ(core_.snapshot_rejections(SnapshotRejection::kOutOfOrder), 2u);
  // A duplicate of chunk 0 does not restart the transfer.
  EXPECT_EQ(send(0, chunks_[0], manifest_).next_chunk, 1u);
}

// Found by the simulation swarm (seed 508): chunk 0 arrived, then
// AppendEntries brought the log past the snapshot (and the follower
// acknowledged those entries), then the last chunk arrived. Installing then
// wiped acknowledged entries; the leader, having counted them, could never
// repair the follower. The transfer must be dropped instead.
TEST_F(SnapshotReceiver, EntriesThatArriveDuringATransferAreNeverWiped) {
  (void)send(0, chunks_[0], manifest_);
  (void)send(1, chunks_[1]);
  append(1, 42, Term{3});  // the log now holds 40 (term 3) and beyond
  ASSERT_EQ(core_.last_index(), LogIndex{42});
  const InstallSnapshotReply r = send(2, chunks_[2]);
  EXPECT_TRUE(r.done);
  EXPECT_EQ(r.match, LogIndex{40});
  EXPECT_FALSE(last_.snapshot_installed);
  EXPECT_TRUE(last_.snapshot_chunks.empty());
  EXPECT_EQ(core_.last_index(), LogIndex{42});  // acknowledged entries kept
  EXPECT_EQ(core_.base_index(), LogIndex{0});
  EXPECT_EQ(core_.commit_index(), LogIndex{40});
}

TEST(RaftSnapshot, ASnapshotOurLogAlreadyCoversIsNotTransferred) {
  // Node 2 holds index 1..3 of term 2; the leader's snapshot ends at 3, term 2.
  std::vector<Entry> log;
  for (std::uint64_t i = 1; i <= 3; ++i)
    log.push_back({Term{2}, LogIndex{i}, EntryKind::kNoop, {}});
  Core core(Config{.id = NodeId{2}, .voters = {NodeId{1}, NodeId{2}, NodeId{3}}},
            Persisted{{Term{2}, std::nullopt, LogIndex{0}}, std::nullopt, log}, 5);
  security::TrustRegistry registry;
  crypto::Seed s;
  s[0] = 1;
  ASSERT_TRUE(registry.add({Principal::replica(NodeId{1}),
                            crypto::KeyPair::from_seed(s).public_key(), phalanx::Role::kReplica}));
  SnapshotManifest m;
  m.chunks = crypto::ChunkManifest::of({crypto::blake2b256(to_bytes("state"))}, 5);
  m.meta = {LogIndex{3},
            Term{2},
            {},
            codec::encode(Membership{.voters = {NodeId{1}, NodeId{2}, NodeId{3}}})};
  Message msg{NodeId{1}, NodeId{2}, Term{2},
              InstallSnapshot{LogIndex{3}, Term{2}, 0, m, to_bytes("state"), 0}};
  auto a =
      security::verify_channel(registry, Principal::replica(NodeId{1}), Untrusted<Message>(msg));
  core.step(*security::authorize(security::Policy::standard(), *a));
  Ready r = core.take_ready();
  EXPECT_TRUE(r.snapshot_chunks.empty());
  EXPECT_FALSE(r.snapshot_installed);
  EXPECT_EQ(core.commit_index(), LogIndex{3});
  ASSERT_EQ(r.committed.size(), 3u);  // applied from its own log instead
  ASSERT_EQ(r.messages.size(), 1u);
  const auto& reply = std::get<InstallSnapshotReply>(r.messages[0].body);
  EXPECT_TRUE(reply.done);
  EXPECT_EQ(reply.match, LogIndex{3});
}

TEST(RaftSnapshot, RestartFromASnapshotStartsAfterIt) {
  SnapshotManifest m;
  m.chunks = crypto::ChunkManifest::of({crypto::blake2b256(to_bytes("state"))}, 5);
  const Membership members{.voters = {NodeId{1}, NodeId{2}, NodeId{4}}, .learners = {NodeId{5}}};
  m.meta = {LogIndex{50}, Term{4}, {}, codec::encode(members)};
  std::vector<Entry> log = {{Term{4}, LogIndex{51}, EntryKind::kCommand, to_bytes("a")},
                            {Term{5}, LogIndex{52}, EntryKind::kCommand, to_bytes("b")}};
  // The bootstrap voters are stale: the snapshot's membership wins.
  Core core(Config{.id = NodeId{1}, .voters = {NodeId{1}, NodeId{2}, NodeId{3}}},
            Persisted{{Term{5}, std::nullopt, LogIndex{51}}, m, log}, 9);
  EXPECT_EQ(core.base_index(), LogIndex{50});
  EXPECT_EQ(core.applied_index(), LogIndex{50});
  EXPECT_EQ(core.commit_index(), LogIndex{51});
  EXPECT_EQ(core.last_index(), LogIndex{52});
  EXPECT_EQ(core.term_at(LogIndex{50}), Term{4});
  EXPECT_EQ(core.membership(), members);
  Ready r = core.take_ready();
  ASSERT_EQ(r.committed.size(), 1u);  // index 51 only: 50 and before are in the snapshot
  EXPECT_EQ(r.committed[0].data, to_bytes("a"));
}

}  // namespace
}  // namespace phalanx::raft
