// The trust pipeline end to end, and what each attack gets.
#include "security/verify.h"

#include <gtest/gtest.h>

#include "consensus/common/client_request.h"

namespace phalanx::security {
namespace {

using consensus::ClientRequest;

crypto::KeyPair key(std::uint8_t n) {
  crypto::Seed seed;
  seed[0] = n;
  return crypto::KeyPair::from_seed(seed);
}

class TrustPipeline : public ::testing::Test {
 protected:
  TrustPipeline() {
    EXPECT_TRUE(
        registry_.add({Principal::replica(NodeId{1}), replica_.public_key(), Role::kReplica}));
    EXPECT_TRUE(
        registry_.add({Principal::client(ClientId{10}), client_.public_key(), Role::kClient}));
    EXPECT_TRUE(registry_.add(
        {Principal::client(ClientId{11}), source_.public_key(), Role::kEvidenceSource}));
  }

  ClientRequest request(ClientId client, const crypto::KeyPair& signer) const {
    ClientRequest req;
    req.cluster[0] = 0xc1;
    req.client = client;
    req.sequence = 42;
    req.operation = to_bytes("put k v");
    sign(req, signer);
    return req;
  }

  static const SecurityError& security_of(const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kSecurity) << e.to_string();
    return *e.security();
  }

  crypto::KeyPair replica_ = key(1);
  crypto::KeyPair client_ = key(10);
  crypto::KeyPair source_ = key(11);
  crypto::KeyPair stranger_ = key(99);
  TrustRegistry registry_;
  Policy policy_ = Policy::standard();
};

TEST_F(TrustPipeline, HonestRequestIsAuthorized) {
  const Bytes wire = codec::encode(request(ClientId{10}, client_));
  Result<Untrusted<ClientRequest>> u = decode_untrusted<ClientRequest>(wire);
  ASSERT_TRUE(u);
  Result<Authenticated<ClientRequest>> a = verify(registry_, *u);
  ASSERT_TRUE(a) << a.error().to_string();
  EXPECT_EQ(a->principal(), Principal::client(ClientId{10}));
  EXPECT_EQ(a->role(), Role::kClient);
  Result<Authorized<ClientRequest>> z = authorize(policy_, *a);
  ASSERT_TRUE(z) << z.error().to_string();
  EXPECT_EQ(z->value().operation, to_bytes("put k v"));
}

TEST_F(TrustPipeline, SpoofingGetsSignatureInvalid) {
  // The stranger claims to be client 10 and signs with its own key.
  const Untrusted<ClientRequest> u(request(ClientId{10}, stranger_));
  Result<Authenticated<ClientRequest>> a = verify(registry_, u);
  ASSERT_FALSE(a);
  const auto& e = std::get<SignatureInvalid>(security_of(a.error()));
  EXPECT_EQ(e.domain, SignDomain::kClientRequest);
  EXPECT_EQ(e.claimed, Principal::client(ClientId{10}));
}

TEST_F(TrustPipeline, UnknownPrincipalGetsAuthenticationFailed) {
  const Untrusted<ClientRequest> u(request(ClientId{77}, stranger_));
  Result<Authenticated<ClientRequest>> a = verify(registry_, u);
  ASSERT_FALSE(a);
  const auto& e = std::get<AuthenticationFailed>(security_of(a.error()));
  EXPECT_EQ(e.reason, AuthFailure::kUnknownPrincipal);
  // Outside, it is indistinguishable from a bad signature.
  EXPECT_EQ(public_message(security_of(a.error())),
            public_message(SignatureInvalid{SignDomain::kClientRequest, {}}));
}

TEST_F(TrustPipeline, TamperingAnyFieldGetsSignatureInvalid) {
  const ClientRequest good = request(ClientId{10}, client_);
  std::vector<ClientRequest> tampered(4, good);
  tampered[0].operation = to_bytes("put k evil");
  tampered[1].sequence = 43;
  tampered[2].cluster[0] ^= 1;  // replay into another cluster
  tampered[3].signature[5] ^= 0x10;
  for (const ClientRequest& t : tampered) {
    Result<Authenticated<ClientRequest>> a = verify(registry_, Untrusted(t));
    ASSERT_FALSE(a);
    EXPECT_TRUE(std::holds_alternative<SignatureInvalid>(security_of(a.error())));
  }
}

TEST_F(TrustPipeline, SignatureFromAnotherDomainGetsSignatureInvalid) {
  // Client 10 signed exactly these bytes, but as a vote.
  ClientRequest req = request(ClientId{10}, client_);
  req.signature = client_.sign(SignDomain::kVote, signed_bytes(req));
  Result<Authenticated<ClientRequest>> a = verify(registry_, Untrusted(req));
  ASSERT_FALSE(a);
  EXPECT_TRUE(std::holds_alternative<SignatureInvalid>(security_of(a.error())));
}

TEST_F(TrustPipeline, WrongRoleGetsAuthorizationDenied) {
  // An evidence source holds a valid key but may not submit state-machine requests.
  Result<Authenticated<ClientRequest>> a =
      verify(registry_, Untrusted(request(ClientId{11}, source_)));
  ASSERT_TRUE(a);
  Result<Authorized<ClientRequest>> z = authorize(policy_, *a);
  ASSERT_FALSE(z);
  const auto& e = std::get<AuthorizationDenied>(security_of(z.error()));
  EXPECT_EQ(e.role, Role::kEvidenceSource);
  EXPECT_EQ(e.action, Action::kSubmitRequest);
}

TEST_F(TrustPipeline, MalformedBytesGetMalformedInput) {
  Bytes wire = codec::encode(request(ClientId{10}, client_));
  wire.pop_back();
  Result<Untrusted<ClientRequest>> u = decode_untrusted<ClientRequest>(wire);
  ASSERT_FALSE(u);
  EXPECT_EQ(std::get<MalformedInput>(security_of(u.error())).reason, MalformedReason::kTruncated);
}

// A message authenticated by its channel (mTLS in crash mode), not by a signature.
struct Ping {
  NodeId from;
  Action kind = Action::kVote;
  Principal author() const { return Principal::replica(from); }
  Action action() const { return kind; }
};

TEST_F(TrustPipeline, ChannelPeerSpeakingForAnotherGetsCredentialMismatch) {
  ASSERT_TRUE(
      registry_.add({Principal::replica(NodeId{2}), stranger_.public_key(), Role::kReplica}));
  // Replica 2's authenticated channel carries a message claiming replica 1.
  Result<Authenticated<Ping>> a =
      verify_channel(registry_, Principal::replica(NodeId{2}), Untrusted(Ping{NodeId{1}}));
  ASSERT_FALSE(a);
  EXPECT_EQ(std::get<AuthenticationFailed>(security_of(a.error())).reason,
            AuthFailure::kCredentialMismatch);
  EXPECT_TRUE(verify_channel(registry_, Principal::replica(NodeId{2}), Untrusted(Ping{NodeId{2}})));
}

TEST_F(TrustPipeline, ChannelFromUnknownPeerGetsAuthenticationFailed) {
  Result<Authenticated<Ping>> a =
      verify_channel(registry_, Principal::replica(NodeId{9}), Untrusted(Ping{NodeId{9}}));
  ASSERT_FALSE(a);
  EXPECT_EQ(std::get<AuthenticationFailed>(security_of(a.error())).reason,
            AuthFailure::kUnknownPrincipal);
}

TEST_F(TrustPipeline, PerMessageActionIsAuthorized) {
  ASSERT_TRUE(
      registry_.add({Principal::replica(NodeId{3}), stranger_.public_key(), Role::kLearner}));
  auto learner =
      verify_channel(registry_, Principal::replica(NodeId{3}), Untrusted(Ping{NodeId{3}}));
  ASSERT_TRUE(learner);
  // A learner may not vote...
  Result<Authorized<Ping>> z = authorize(policy_, *learner);
  ASSERT_FALSE(z);
  EXPECT_EQ(std::get<AuthorizationDenied>(security_of(z.error())).action, Action::kVote);
  // ...and a replica may.
  auto replica =
      verify_channel(registry_, Principal::replica(NodeId{1}), Untrusted(Ping{NodeId{1}}));
  EXPECT_TRUE(authorize(policy_, *replica));
}

TEST(Policy, StandardTable) {
  const Policy p = Policy::standard();
  EXPECT_TRUE(p.permits(Role::kReplica, Action::kVote));
  EXPECT_FALSE(p.permits(Role::kLearner, Action::kVote));
  EXPECT_FALSE(p.permits(Role::kClient, Action::kVote));
  EXPECT_FALSE(p.permits(Role::kClient, Action::kReconfigure));
  EXPECT_TRUE(p.permits(Role::kAdmin, Action::kReconfigure));
  EXPECT_TRUE(p.permits(Role::kEvidenceSource, Action::kSubmitEvidence));
  EXPECT_FALSE(Policy().permits(Role::kReplica, Action::kVote));
}

TEST(Registry, RejectsDuplicatesSharedKeysAndImpossibleRoles) {
  const crypto::KeyPair a = key(1), b = key(2), c = key(3);
  TrustRegistry r;
  ASSERT_TRUE(r.add({Principal::replica(NodeId{1}), a.public_key(), Role::kReplica}));
  EXPECT_FALSE(r.add({Principal::replica(NodeId{1}), b.public_key(), Role::kReplica}));
  EXPECT_FALSE(r.add({Principal::client(ClientId{1}), a.public_key(), Role::kClient}));
  EXPECT_FALSE(r.add({Principal::client(ClientId{2}), c.public_key(), Role::kReplica}));
  EXPECT_FALSE(r.add({Principal::replica(NodeId{3}), c.public_key(), Role::kAdmin}));
  // Same number, other id space: a different principal.
  EXPECT_TRUE(r.add({Principal::client(ClientId{1}), b.public_key(), Role::kClient}));
  EXPECT_EQ(r.size(), 2u);
  EXPECT_EQ(r.find(Principal::client(ClientId{9})), nullptr);
}

}  // namespace
}  // namespace phalanx::security
