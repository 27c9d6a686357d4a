#include "core/error.h"

#include <gtest/gtest.h>

#include <set>

namespace phalanx {
namespace {

TEST(SecurityError, UnknownPrincipalAndBadSignatureLookTheSameOutside) {
  const SecurityError unknown =
      AuthenticationFailed{AuthFailure::kUnknownPrincipal, Principal::client(ClientId{7})};
  const SecurityError mismatch =
      AuthenticationFailed{AuthFailure::kCredentialMismatch, Principal::client(ClientId{7})};
  const SecurityError bad_sig =
      SignatureInvalid{SignDomain::kClientRequest, Principal::client(ClientId{7})};
  EXPECT_EQ(public_message(unknown), public_message(bad_sig));
  EXPECT_EQ(public_message(unknown), public_message(mismatch));
  // ...while operators see the difference.
  EXPECT_NE(describe(unknown), describe(bad_sig));
  EXPECT_NE(describe(unknown), describe(mismatch));
}

TEST(SecurityError, DescribeCarriesTheDetail) {
  EXPECT_EQ(describe(QuorumNotReached{2, 3}), "quorum not reached: 2 of 3 needed");
  EXPECT_EQ(describe(MalformedInput{MalformedReason::kTrailingBytes, 17}),
            "malformed input: trailing bytes at byte 17");
  EXPECT_EQ(describe(NonceReplay{Principal::client(ClientId{4}), 9, 12}),
            "replayed nonce 9 from client(4) (highest accepted 12)");
  EXPECT_EQ(describe(SnapshotRefused{Principal::replica(NodeId{2}), 64, SnapshotFault::kStateRoot}),
            "snapshot refused from replica(2) at height 64: state root is not the certified root");
  EXPECT_EQ(describe(Equivocation{Principal::replica(NodeId{3}), Epoch{1}, Round{8}}),
            "equivocation by replica(3) in epoch(1) round(8)");
  EXPECT_EQ(
      describe(AuthorizationDenied{Principal::client(ClientId{1}), Role::kClient, Action::kVote}),
      "authorization denied: client(1) with role client may not vote");
}

TEST(SecurityError, EveryCaseHasADistinctMetricName) {
  const std::vector<SecurityError> all = {
      AuthenticationFailed{}, AuthorizationDenied{}, SignatureInvalid{},  NonceReplay{},
      QuorumNotReached{},     CertificateExpired{},  RateLimitExceeded{}, MalformedInput{},
      Equivocation{},         ChainBroken{},         SnapshotRefused{},
  };
  ASSERT_EQ(all.size(), std::variant_size_v<SecurityError>);
  std::set<std::string_view> names;
  for (const SecurityError& e : all) names.insert(kind_name(e));
  EXPECT_EQ(names.size(), all.size());
}

TEST(Error, SecurityErrorsCarryTheirCase) {
  const Error e(SignatureInvalid{SignDomain::kVote, Principal::replica(NodeId{2})});
  EXPECT_EQ(e.code(), ErrorCode::kSecurity);
  ASSERT_NE(e.security(), nullptr);
  EXPECT_TRUE(std::holds_alternative<SignatureInvalid>(*e.security()));
  EXPECT_EQ(e.to_string(),
            "security: signature invalid: domain phalanx/v1/vote, claimed replica(2)");
}

TEST(Error, PlainErrorsHaveNoSecurityCase) {
  Error e = Error(ErrorCode::kNotFound, "no such file").with_context("node.key");
  EXPECT_EQ(e.security(), nullptr);
  EXPECT_EQ(e.to_string(), "not found: node.key: no such file");
}

Result<int> half(int x) {
  if (x % 2 != 0) return fail(ErrorCode::kInvalidArgument, "odd");
  return x / 2;
}

Result<int> quarter(int x) {
  PHALANX_ASSIGN_OR_RETURN(int h, half(x));
  PHALANX_ASSIGN_OR_RETURN(int q, half(h));
  return q;
}

TEST(Error, AssignOrReturnPropagates) {
  EXPECT_EQ(*quarter(8), 2);
  Result<int> r = quarter(6);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(), "odd");
}

}  // namespace
}  // namespace phalanx
