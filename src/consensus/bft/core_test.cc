// The BFT core in a lossless in-memory cluster: commits, agreement, a silent
// leader, bad proposals, an equivocating leader, a replica catching up.
#include "consensus/bft/core.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "core/overloaded.h"
#include "testing/bft_fixture.h"

namespace phalanx::bft {
namespace {

using testing::key_of;

consensus::ClientRequest request(ClientId client, std::uint64_t sequence) {
  return testing::signed_request(client, sequence);
}

class Cluster {
 public:
  // `idle_propose_ticks`: as Config's (1: an idle leader proposes at its next tick).
  explicit Cluster(std::uint32_t n, std::uint32_t idle_propose_ticks = 1) : fixture_(n) {
    fixture_.add_client(ClientId{1});
    for (std::uint64_t i = 1; i <= n; ++i) ids_.push_back(NodeId{i});
    for (NodeId id : ids_) {
      Config c{id, ids_, fixture_.validators()};
      c.idle_propose_ticks = idle_propose_ticks;
      c.round_timeout_ticks = std::max(c.round_timeout_ticks, 2 * idle_propose_ticks);
      c.round_timeout_ticks_max = std::max(c.round_timeout_ticks_max, 8 * c.round_timeout_ticks);
      cores_.push_back(std::make_unique<Core>(c, key_of(id),
                                              SafetyData{fixture_.epoch(), Round{0}, Round{0}},
                                              genesis_block(fixture_.epoch())));
      committed_.emplace_back();
    }
  }

  Core& core(NodeId id) { return *cores_[id.value() - 1]; }
  const std::vector<Block>& committed(NodeId id) { return committed_[id.value() - 1]; }

  void submit(const consensus::ClientRequest& r) {
    for (auto& c : cores_) {
      c->submit(*security::authorize(
          security::Policy::standard(),
          *security::verify(fixture_.registry(), Untrusted<consensus::ClientRequest>(r))));
    }
  }

  // One step: every live replica ticks, then a few waves of messages are
  // delivered (what the deliveries send goes out in the next wave).
  void step() {
    for (auto& c : cores_) {
      if (!down_.contains(c->id())) c->tick();
    }
    for (int wave = 0; wave < 8; ++wave) {
      std::vector<std::pair<NodeId, Message>> in_flight;
      for (auto& c : cores_) {
        Ready ready = c->take_ready();
        auto& log = committed_[c->id().value() - 1];
        log.insert(log.end(), ready.committed.begin(), ready.committed.end());
        evidence_.insert(evidence_.end(), ready.evidence.begin(), ready.evidence.end());
        if (down_.contains(c->id())) continue;
        for (Message& m : ready.messages) {
          if (!down_.contains(m.to)) in_flight.emplace_back(c->id(), std::move(m));
        }
      }
      for (auto& [from, m] : in_flight) deliver(from, core(m.to), std::move(m.body));
    }
  }

  void deliver(NodeId from, Core& to, Payload body) {
    std::visit(Overloaded{
                   [&](Block& b) { to.on_proposal(verified(std::move(b))); },
                   [&](Vote& v) { to.on_vote(verified(std::move(v))); },
                   [&](Timeout& t) { to.on_timeout(verified(std::move(t))); },
                   [&](SyncRequest& r) { to.on_sync_request(from, r); },
                   [&](SyncResponse& r) { to.on_sync_response(from, std::move(r)); },
                   [&](Checkpoint&) { FAIL() << "the core sends no checkpoints"; },
                   [&](SnapshotRequest&) { FAIL() << "the core sends no snapshot requests"; },
                   [&](SnapshotChunk&) { FAIL() << "the core sends no snapshots"; },
               },
               body);
  }

  template <class M>
  Authenticated<M> verified(M m) {
    auto a = security::verify(fixture_.registry(), Untrusted<M>(std::move(m)));
    PHALANX_ASSERT(a.has_value());
    return std::move(*a);
  }

  void run(int steps) {
    for (int i = 0; i < steps; ++i) step();
  }

  // No two replicas committed different blocks at one height.
  void expect_agreement() {
    for (std::size_t a = 0; a < committed_.size(); ++a) {
      for (std::size_t b = a + 1; b < committed_.size(); ++b) {
        const std::size_t n = std::min(committed_[a].size(), committed_[b].size());
        for (std::size_t h = 0; h < n; ++h) {
          ASSERT_EQ(committed_[a][h].id(), committed_[b][h].id()) << "height " << h;
        }
      }
    }
  }

  std::set<NodeId> down_;
  std::vector<EquivocationProof> evidence_;
  testing::Fixture fixture_;

 private:
  std::vector<NodeId> ids_;
  std::vector<std::unique_ptr<Core>> cores_;
  std::vector<std::vector<Block>> committed_;
};

std::size_t requests_in(const std::vector<Block>& blocks) {
  std::size_t n = 0;
  for (const Block& b : blocks) n += b.requests.size();
  return n;
}

// Found on the real network, where an idle leader waits 500 ms: every write
// took 509 ms. The leader whose QC commits a block with requests is the only
// one that knows of the commit; unless it proposes at once, the others learn
// of it only from its next idle proposal. Here idle proposals are 100 ticks
// apart, and the request must commit everywhere in a handful of ticks.
TEST(BftCore, ARequestCommitsEverywhereWithoutWaitingForAnIdleProposal) {
  Cluster c(4, /*idle_propose_ticks=*/100);
  c.run(1);  // round 1 under way
  c.submit(request(ClientId{1}, 1));
  c.run(4);
  c.expect_agreement();
  for (std::uint64_t i = 1; i <= 4; ++i) {
    EXPECT_EQ(requests_in(c.committed(NodeId{i})), 1u) << "replica " << i;
  }
}

TEST(BftCore, CommitsEveryRequestOnceOnEveryReplica) {
  Cluster c(4);
  for (std::uint64_t s = 1; s <= 10; ++s) c.submit(request(ClientId{1}, s));
  c.run(40);
  c.expect_agreement();
  for (std::uint64_t i = 1; i <= 4; ++i) {
    EXPECT_GE(c.committed(NodeId{i}).size(), 3u);
    EXPECT_EQ(requests_in(c.committed(NodeId{i})), 10u) << i;
    EXPECT_EQ(c.core(NodeId{i}).mempool_size(), 0u);
  }
  // Every committed block has a consecutive child certified: rounds rise.
  const auto& chain = c.committed(NodeId{1});
  for (std::size_t h = 1; h < chain.size(); ++h) EXPECT_GT(chain[h].round, chain[h - 1].round);
}

TEST(BftCore, SilentLeaderIsTimedOutAndTheOthersCommit) {
  Cluster c(4);
  c.run(5);
  const std::uint64_t before = c.committed(NodeId{1}).size();
  // Take down the next leader: its rounds end in timeout certificates.
  const NodeId next = c.core(NodeId{1}).leader(c.core(NodeId{1}).round().next());
  c.down_.insert(next);
  for (std::uint64_t s = 1; s <= 5; ++s) c.submit(request(ClientId{1}, s));
  c.run(400);
  c.expect_agreement();
  const NodeId live = next == NodeId{1} ? NodeId{2} : NodeId{1};
  EXPECT_GT(c.committed(live).size(), before + 3);
  EXPECT_EQ(requests_in(c.committed(live)), 5u);
}

// Rounds without a committed block, among the committed chain's rounds after `from`.
std::uint64_t failed_rounds_after(const std::vector<Block>& chain, Round from) {
  std::uint64_t failed = 0;
  for (std::size_t h = 1; h < chain.size(); ++h) {
    if (chain[h - 1].round < from) continue;
    failed += chain[h].round.value() - chain[h - 1].round.value() - 1;
  }
  return failed;
}

// A replica that goes silent costs its first round (the one before it is
// saved: votes meant for a suspected leader go to everyone), and then none:
// the rotation skips it while it signs nothing. Without reputation it
// costs a round in every four.
TEST(BftCore, ASilentReplicaCostsOneRoundNotOneInFour) {
  for (const bool reputation : {true, false}) {
    Cluster c(4);
    if (!reputation) {
      for (NodeId id : {NodeId{1}, NodeId{2}, NodeId{3}, NodeId{4}}) {
        c.core(id).TEST_ignore_reputation();
      }
    }
    c.run(40);
    const Round from = c.core(NodeId{1}).round();
    c.down_.insert(NodeId{3});
    c.run(600);
    c.expect_agreement();
    const std::uint64_t failed = failed_rounds_after(c.committed(NodeId{1}), from);
    const std::uint64_t rounds = c.core(NodeId{1}).round().value() - from.value();
    if (reputation) {
      EXPECT_LE(failed, 1u) << "of " << rounds << " rounds";
      EXPECT_GT(rounds, 400u);
    } else {
      EXPECT_GT(failed * 5, rounds / 4) << failed << " of " << rounds << " rounds failed";
    }
  }
}

TEST(BftCore, ProposalWithOneForgedRequestGetsNoVote) {
  Cluster c(4);
  Core& r = c.core(NodeId{2});
  const NodeId leader = r.leader(Round{1});
  Block b{.epoch = c.fixture_.epoch(),
          .round = Round{1},
          .qc = genesis_qc(c.fixture_.epoch()),
          .requests = {request(ClientId{1}, 1), request(ClientId{1}, 2)},
          .proposer = leader};
  b.requests[1].operation = to_bytes("tampered");
  security::sign(b, key_of(leader));
  r.on_proposal(c.verified(b));
  EXPECT_EQ(r.rejections(Rejection::kBadRequest), 1u);
  EXPECT_FALSE(r.take_ready().safety.has_value());  // nothing voted
  EXPECT_EQ(r.safety().last_voted_round, Round{0});
}

TEST(BftCore, ProposalFromANonLeaderIsRefused) {
  Cluster c(4);
  Core& r = c.core(NodeId{3});
  const Block b = c.fixture_.block(Round{1}, genesis_qc(c.fixture_.epoch()), {}, NodeId{1});
  ASSERT_NE(r.leader(Round{1}), NodeId{1});
  r.on_proposal(c.verified(b));
  EXPECT_EQ(r.rejections(Rejection::kNotLeader), 1u);
  EXPECT_TRUE(r.take_ready().empty());
}

TEST(BftCore, ProposalWithAForgedQuorumCertificateIsRefused) {
  Cluster c(4);
  Core& r = c.core(NodeId{3});
  const Block b1 = c.fixture_.block(Round{1}, genesis_qc(c.fixture_.epoch()));
  QuorumCert short_qc = c.fixture_.qc(Round{1}, b1.id(), 2);  // 2 of the 3 votes needed
  const Block b2 = c.fixture_.block(Round{2}, short_qc, {}, r.leader(Round{2}));
  r.on_proposal(c.verified(b2));
  EXPECT_EQ(r.rejections(Rejection::kBadCertificate), 1u);
  EXPECT_EQ(r.round(), Round{1});
}

TEST(BftCore, EquivocatingLeaderIsCaughtWithProof) {
  Cluster c(4);
  Core& r = c.core(NodeId{3});
  const NodeId leader = r.leader(Round{1});
  Block a = c.fixture_.block(Round{1}, genesis_qc(c.fixture_.epoch()), {}, leader);
  Block b{.epoch = c.fixture_.epoch(),
          .round = Round{1},
          .qc = genesis_qc(c.fixture_.epoch()),
          .requests = {request(ClientId{1}, 1)},
          .proposer = leader};
  security::sign(b, key_of(leader));
  r.on_proposal(c.verified(a));
  Ready first = r.take_ready();
  ASSERT_TRUE(first.safety.has_value());  // voted for the first
  r.on_proposal(c.verified(b));
  Ready second = r.take_ready();
  EXPECT_FALSE(second.safety.has_value());  // never for the second
  ASSERT_EQ(second.evidence.size(), 1u);
  EXPECT_EQ(second.evidence[0].author, leader);
  EXPECT_EQ(std::get<Block>(second.evidence[0].first).id(), a.id());
  EXPECT_EQ(std::get<Block>(second.evidence[0].second).id(), b.id());
  EXPECT_EQ(r.rejections(Rejection::kEquivocation), 1u);
  EXPECT_TRUE(r.equivocators().contains(leader));
}

TEST(BftCore, DoubleVoterIsCaughtWithProof) {
  Cluster c(4);
  Core& next_leader = c.core(c.core(NodeId{1}).leader(Round{2}));
  const NodeId voter = next_leader.id() == NodeId{3} ? NodeId{4} : NodeId{3};
  const auto [a, b] = c.fixture_.double_vote(Round{1}, voter);
  next_leader.on_vote(c.verified(a));
  next_leader.on_vote(c.verified(a));  // the same vote again is no offence
  next_leader.on_vote(c.verified(b));
  const Ready ready = next_leader.take_ready();
  ASSERT_EQ(ready.evidence.size(), 1u);
  EXPECT_EQ(ready.evidence[0].author, voter);
  EXPECT_EQ(ready.evidence[0].round, Round{1});
  EXPECT_EQ(next_leader.rejections(Rejection::kEquivocation), 1u);
}

TEST(BftCore, ProvenDoubleVoterLeavesTheRotationOnEveryReplica) {
  Cluster c(4);
  Core& next_leader = c.core(c.core(NodeId{1}).leader(Round{2}));
  const NodeId voter = next_leader.id() == NodeId{3} ? NodeId{4} : NodeId{3};
  const auto [a, b] = c.fixture_.double_vote(Round{1}, voter);
  next_leader.on_vote(c.verified(a));
  next_leader.on_vote(c.verified(b));
  c.run(60);
  c.expect_agreement();
  // The proof went into a block, once, and committed everywhere.
  std::size_t carried = 0;
  for (const Block& blk : c.committed(NodeId{1})) carried += blk.accusations.size();
  EXPECT_EQ(carried, 1u);
  for (std::uint64_t i = 1; i <= 4; ++i) {
    const Core& r = c.core(NodeId{i});
    ASSERT_TRUE(r.schedule().excluded(voter)) << i;
    const Round from{r.schedule().excluded().at(voter).value() + ScheduleOptions{}.lag};
    for (Round round = from; round.value() < from.value() + 40; round = round.next()) {
      EXPECT_NE(r.leader(round), voter);
    }
  }
}

TEST(BftCore, ProposalWithAFalseAccusationGetsNoVote) {
  Cluster c(4);
  Core& r = c.core(NodeId{2});
  const NodeId leader = r.leader(Round{1});
  const NodeId honest = NodeId{3};
  // Framing: a real vote of replica 3 and one the leader forged in its name.
  Vote real{c.fixture_.epoch(), Round{1}, BlockId{}, honest};
  Vote forged = real;
  forged.block[0] = 1;
  security::sign(real, key_of(honest));
  security::sign(forged, key_of(leader));
  const Accusation framed = *accuse(statement(real), statement(forged));  // well-formed, false
  Block blk{.epoch = c.fixture_.epoch(),
            .round = Round{1},
            .qc = genesis_qc(c.fixture_.epoch()),
            .accusations = {framed},
            .proposer = leader};
  security::sign(blk, key_of(leader));
  r.on_proposal(c.verified(blk));
  EXPECT_EQ(r.rejections(Rejection::kBadAccusation), 1u);
  EXPECT_EQ(r.safety().last_voted_round, Round{0});
  EXPECT_FALSE(r.schedule().excluded(honest));
}

TEST(BftCore, ReplicaThatMissedBlocksSyncsAndAgrees) {
  Cluster c(4);
  c.down_.insert(NodeId{4});
  for (std::uint64_t s = 1; s <= 6; ++s) c.submit(request(ClientId{1}, s));
  c.run(300);
  ASSERT_GE(c.committed(NodeId{1}).size(), 3u);
  EXPECT_TRUE(c.committed(NodeId{4}).empty());
  c.down_.clear();
  c.run(200);
  c.expect_agreement();
  EXPECT_GE(c.committed(NodeId{4}).size(), c.committed(NodeId{1}).size() - 2);
  EXPECT_EQ(requests_in(c.committed(NodeId{4})), 6u);
}

}  // namespace
}  // namespace phalanx::bft

namespace phalanx::bft {
namespace {

// Regression (found by the simulator, a use-after-free): f+1 timeouts make
// a replica join the round; its own timeout completes the TC, which moves it
// on and drops the round's timeouts while the first call still held them.
TEST(BftCore, JoiningTimeoutThatCompletesTheCertificateMovesOn) {
  testing::Fixture f(4);
  std::vector<NodeId> ids{NodeId{1}, NodeId{2}, NodeId{3}, NodeId{4}};
  Core core(Config{NodeId{4}, ids, f.validators()}, testing::key_of(NodeId{4}),
            SafetyData{f.epoch(), Round{0}, Round{0}}, genesis_block(f.epoch()));
  for (std::uint64_t i = 1; i <= 2; ++i) {
    Timeout t{f.epoch(), Round{1}, genesis_qc(f.epoch()), NodeId{i}};
    security::sign(t, testing::key_of(NodeId{i}));
    core.on_timeout(*security::verify(f.registry(), Untrusted<Timeout>(t)));
  }
  // Two timeouts (f+1) and its own: q = 3, a TC for round 1.
  EXPECT_EQ(core.round(), Round{2});
  const Ready ready = core.take_ready();
  ASSERT_TRUE(ready.safety);
  EXPECT_EQ(ready.safety->last_voted_round, Round{1});
}

// Regression (simulator seed 271): a leader whose high QC is below the
// highest QC a TC reports must not propose. Its own vote would be refused,
// so the proposal would leave without being durable, and after a restart it
// proposed a second block for the round — an honest replica accused.
TEST(BftCore, LeaderMissingTheTimeoutCertificatesHighestQcDoesNotPropose) {
  testing::Fixture f(4);
  std::vector<NodeId> ids{NodeId{1}, NodeId{2}, NodeId{3}, NodeId{4}};
  Core core(Config{NodeId{4}, ids, f.validators()}, testing::key_of(NodeId{4}),
            SafetyData{f.epoch(), Round{0}, Round{0}}, genesis_block(f.epoch()));
  ASSERT_EQ(core.leader(Round{3}), NodeId{4});
  Timeout t{f.epoch(), Round{2}, genesis_qc(f.epoch()), NodeId{1}};
  security::sign(t, testing::key_of(NodeId{1}));
  t.last_tc = f.tc(Round{2}, {Round{1}, Round{1}, Round{0}});  // someone holds a QC of round 1
  core.on_timeout(*security::verify(f.registry(), Untrusted<Timeout>(t)));
  ASSERT_EQ(core.round(), Round{3});
  for (int i = 0; i < 5; ++i) core.tick();
  for (const Message& m : core.take_ready().messages) {
    EXPECT_FALSE(std::holds_alternative<Block>(m.body)) << "proposed on a QC below the TC's";
  }
  EXPECT_EQ(core.safety().last_voted_round, Round{0});
}

// A restarted replica resumes with the QC behind its lock and its newest
// TC, so it can time out its round again (without them it could not: a
// timeout must carry a QC at least as high as the lock).
TEST(BftCore, RestartKeepsTheLockQcAndTheLastTc) {
  testing::Fixture f(4);
  std::vector<NodeId> ids{NodeId{1}, NodeId{2}, NodeId{3}, NodeId{4}};
  const Block b1 = f.block(Round{1}, genesis_qc(f.epoch()));
  const QuorumCert qc1 = f.qc_for(b1);
  const TimeoutCert tc2 = f.tc(Round{2}, {Round{1}, Round{1}, Round{1}});
  SafetyData kept{f.epoch(), Round{3}, Round{1}};
  kept.lock_qc = qc1;
  kept.last_tc = tc2;
  Core core(Config{NodeId{3}, ids, f.validators()}, testing::key_of(NodeId{3}), kept,
            genesis_block(f.epoch()), {b1});
  EXPECT_EQ(core.high_qc(), qc1);
  EXPECT_EQ(core.round(), Round{3});
  for (int i = 0; i < 20; ++i) core.tick();  // one base timeout
  const Ready ready = core.take_ready();
  bool timed_out = false;
  for (const Message& m : ready.messages) {
    if (const auto* t = std::get_if<Timeout>(&m.body)) {
      timed_out = true;
      EXPECT_EQ(t->round, Round{3});
      EXPECT_EQ(t->high_qc, qc1);
      EXPECT_EQ(t->last_tc, tc2);
    }
  }
  EXPECT_TRUE(timed_out);
}

// A proposal justified by neither its QC nor a TC is refused on arrival.
TEST(BftCore, UnjustifiedProposalIsRefused) {
  testing::Fixture f(4);
  std::vector<NodeId> ids{NodeId{1}, NodeId{2}, NodeId{3}, NodeId{4}};
  Core core(Config{NodeId{4}, ids, f.validators()}, testing::key_of(NodeId{4}),
            SafetyData{f.epoch(), Round{0}, Round{0}}, genesis_block(f.epoch()));
  const Block stale = f.block(Round{5}, genesis_qc(f.epoch()), std::nullopt, NodeId{2});
  core.on_proposal(*security::verify(f.registry(), Untrusted<Block>(stale)));
  EXPECT_EQ(core.rejections(Rejection::kSafetyRule), 1u);
  EXPECT_EQ(core.round(), Round{1});
}

}  // namespace
}  // namespace phalanx::bft
