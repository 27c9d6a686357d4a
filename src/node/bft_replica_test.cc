// A byzantine-mode replica: what each bad frame and bad client request gets,
// that its promises survive a power loss, that a failing disk stops it.
#include "node/bft_replica.h"

#include <gtest/gtest.h>

#include "apps/kv/kv_machine.h"
#include "consensus/bft/wire.h"
#include "sim/sim_file_system.h"
#include "storage/data_dir.h"
#include "storage/hard_state.h"
#include "testing/bft_fixture.h"

namespace phalanx::node {
namespace {

const Principal kCaller = Principal::client(ClientId{7});  // the channel proved it

using bft::testing::key_of;

class BftReplicaTest : public ::testing::Test {
 protected:
  BftReplicaTest() : fixture_(4), fs_(11) { fixture_.add_client(ClientId{7}); }

  // Replica 2 leads round 1 (leader(r) = replicas[r % n]).
  std::unique_ptr<BftReplica> open(NodeId id = NodeId{2}) {
    BftReplicaOptions o{bft::Config{id, ids_, fixture_.validators(), cluster_}};
    auto r = BftReplica::open(fs_, fixture_.registry(), std::move(o),
                              std::make_unique<kv::KvMachine>(), key_of(id));
    PHALANX_ASSERT(r.has_value());
    return std::move(*r);
  }

  Bytes request(std::uint64_t seq, ClusterId cluster, ClientId in_command = ClientId{7}) {
    const kv::KvCommand cmd{in_command, seq, kv::KvOp::kPut, "k", to_bytes("v"), {}};
    consensus::ClientRequest r{cluster, ClientId{7}, seq, codec::encode(cmd), {}};
    security::sign(r, bft::testing::client_key_of(ClientId{7}));
    return codec::encode(r);
  }

  Bytes vote_frame(NodeId signer, NodeId sender, NodeId to, bool break_signature = false) {
    bft::Vote v{fixture_.epoch(), Round{1}, bft::genesis_block(fixture_.epoch()).id(), signer};
    security::sign(v, key_of(signer));
    if (break_signature) v.signature[0] ^= 1;
    return bft::encode_envelope({sender, to, v});
  }

  bft::testing::Fixture fixture_;
  sim::SimFileSystem fs_;
  std::vector<NodeId> ids_{NodeId{1}, NodeId{2}, NodeId{3}, NodeId{4}};
  ClusterId cluster_ = [] {
    ClusterId c;
    c[0] = 9;
    return c;
  }();
};

std::string kind_of(const Status& s) {
  const SecurityError* e = s.error().security();
  return e ? std::string(kind_name(*e)) : "other";
}

TEST_F(BftReplicaTest, EachBadFrameIsRefusedWithItsTypedError) {
  auto r = open(NodeId{3});
  const Bytes garbage = to_bytes("not a frame");
  EXPECT_EQ(kind_of(r->receive(NodeId{1}, garbage)), "malformed_input");
  // A vote signed by 1 but sent by 2: replicas send only their own messages.
  EXPECT_EQ(kind_of(r->receive(NodeId{2}, vote_frame(NodeId{1}, NodeId{2}, NodeId{3}))),
            "authentication_failed");
  // The envelope claims a sender the channel did not prove.
  EXPECT_EQ(kind_of(r->receive(NodeId{2}, vote_frame(NodeId{1}, NodeId{1}, NodeId{3}))),
            "authentication_failed");
  EXPECT_EQ(kind_of(r->receive(NodeId{1}, vote_frame(NodeId{1}, NodeId{1}, NodeId{3}, true))),
            "signature_invalid");
  EXPECT_EQ(kind_of(r->receive(NodeId{1}, vote_frame(NodeId{1}, NodeId{1}, NodeId{4}))),
            "malformed_input");
  EXPECT_EQ(kind_of(r->receive(NodeId{9}, vote_frame(NodeId{9}, NodeId{9}, NodeId{3}))),
            "authentication_failed");
  EXPECT_TRUE(r->receive(NodeId{1}, vote_frame(NodeId{1}, NodeId{1}, NodeId{3})));
  const auto rejected = r->status().rejected;
  EXPECT_EQ(rejected.at("malformed_input"), 2u);
  EXPECT_EQ(rejected.at("authentication_failed"), 3u);
  EXPECT_EQ(rejected.at("signature_invalid"), 1u);
}

TEST_F(BftReplicaTest, BadClientRequestsAreRefusedBeforeOrdering) {
  auto r = open();
  auto refused = [&](Bytes request) {
    r->call(5, {1, kCaller, std::move(request)});
    const auto out = r->take_output();
    return out.answers.size() == 1 &&
           out.answers[0].answer.outcome == consensus::CallOutcome::kRejected;
  };
  EXPECT_TRUE(refused(to_bytes("garbage")));
  Bytes forged = request(1, cluster_);
  forged[forged.size() - 1] ^= 1;  // the signature's last byte
  EXPECT_TRUE(refused(forged));
  EXPECT_TRUE(refused(request(1, ClusterId{})));            // signed for another cluster
  EXPECT_TRUE(refused(request(1, cluster_, ClientId{8})));  // acts in client 8's session
  EXPECT_EQ(r->core().mempool_size(), 0u);
  r->call(5, {2, kCaller, request(1, cluster_)});
  EXPECT_EQ(r->core().mempool_size(), 1u);
}

// An unknown client id, a known id with a bad signature and a request for
// another cluster read the same outside: no answer tells which ids exist or
// which check failed. Inside, each is counted under its kind.
TEST_F(BftReplicaTest, EveryAuthenticationFailureGetsTheSameAnswer) {
  auto r = open();
  const auto answer_to = [&](Bytes request) {
    r->call(5, {1, kCaller, std::move(request)});
    const auto out = r->take_output();
    EXPECT_EQ(out.answers.size(), 1u);
    const consensus::ClientAnswer& a = out.answers.at(0).answer;
    EXPECT_EQ(a.outcome, consensus::CallOutcome::kRejected);
    return std::string(a.reply.begin(), a.reply.end());
  };
  Bytes forged = request(1, cluster_);
  forged[forged.size() - 1] ^= 1;
  const kv::KvCommand cmd{ClientId{99}, 1, kv::KvOp::kPut, "k", to_bytes("v"), {}};
  consensus::ClientRequest stranger{cluster_, ClientId{99}, 1, codec::encode(cmd), {}};
  security::sign(stranger, bft::testing::client_key_of(ClientId{99}));
  EXPECT_EQ(answer_to(forged), "authentication failed");
  EXPECT_EQ(answer_to(codec::encode(stranger)), "authentication failed");
  EXPECT_EQ(answer_to(request(1, ClusterId{})), "authentication failed");
  const auto rejected = r->status().rejected;
  EXPECT_EQ(rejected.at("signature_invalid"), 1u);
  EXPECT_EQ(rejected.at("authentication_failed"), 2u);
}

TEST_F(BftReplicaTest, PromisesSurviveAPowerLoss) {
  {
    auto r = open();  // leads round 1: proposes and votes for its block on tick
    r->call(5, {1, kCaller, request(1, cluster_)});
    r->tick();
    const auto out = r->take_output();
    ASSERT_FALSE(out.messages.empty());
    EXPECT_EQ(r->core().safety().last_voted_round, Round{1});
  }
  fs_.power_cycle();
  auto again = open();
  EXPECT_EQ(again->core().safety().last_voted_round, Round{1});
  ASSERT_TRUE(again->core().safety().last_vote.has_value());
  // It never proposes a second, conflicting block for round 1.
  for (int i = 0; i < 5; ++i) again->tick();
  for (const auto& m : again->take_output().messages) {
    auto e = bft::decode_envelope(m.frame);
    ASSERT_TRUE(e);
    const auto* b = std::get_if<bft::Block>(&e->unverified().body);
    EXPECT_TRUE(b == nullptr || b->round != Round{1});
  }
}

// Safety data the rules could never have written (a lock above the last
// voted round: a replica that believed it would vote where it promised not
// to) is refused at start-up as corruption, never served.
TEST_F(BftReplicaTest, InconsistentSafetyDataOnDiskIsRefusedAtStartUp) {
  { (void)open(); }
  bft::SafetyData forged{fixture_.epoch(), Round{3}, Round{5}};
  ASSERT_TRUE(storage::save_hard_state(fs_, storage::bft_state_path("/data"), forged));
  BftReplicaOptions o{bft::Config{NodeId{2}, ids_, fixture_.validators(), cluster_}};
  auto r = BftReplica::open(fs_, fixture_.registry(), std::move(o),
                            std::make_unique<kv::KvMachine>(), key_of(NodeId{2}));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kCorruption);
  EXPECT_NE(r.error().message().find("no valid safety data"), std::string::npos)
      << r.error().message();
}

// The node's metrics come from status(): no view change, no evidence and
// no checkpoint yet on a fresh replica, nor after it restarts.
TEST_F(BftReplicaTest, StatusCarriesTheByzantineCounters) {
  for (int life = 0; life < 2; ++life) {
    auto r = open();
    r->tick();
    const consensus::ReplicaStatus s = r->status();
    EXPECT_EQ(s.view_changes, 0u);
    EXPECT_EQ(s.evidence, 0u);
    EXPECT_FALSE(s.checkpoint_height);
  }
}

TEST_F(BftReplicaTest, FailingDiskStopsTheReplicaAndReleasesNothing) {
  auto r = open();
  fs_.set_faults({.write_eio_one_in = 1});
  r->call(5, {1, kCaller, request(1, cluster_)});
  r->tick();
  EXPECT_TRUE(r->failure().has_value());
  EXPECT_TRUE(r->take_output().messages.empty());  // no vote or proposal without its promise
  r->tick();
  EXPECT_TRUE(r->take_output().messages.empty());
}

}  // namespace
}  // namespace phalanx::node
