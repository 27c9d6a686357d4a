// The evidence service: fixed-point arithmetic, admission (what each attack
// gets), aggregation against liars, reputation, reconfiguration, proofs and
// snapshots.
#include <gtest/gtest.h>

#include "apps/evidence/aggregate.h"
#include "apps/evidence/evidence_machine.h"
#include "apps/evidence/store.h"
#include "apps/evidence/tally.h"
#include "testing/evidence_fixture.h"

namespace phalanx::evidence {
namespace {

using testing::Fixture;
using testing::kAdmin;
using testing::kPlainClient;

EvidenceReply reply(const Bytes& b) {
  Result<EvidenceReply> r = codec::decode<EvidenceReply>(b);
  PHALANX_ASSERT(r);
  return *r;
}

// A store over a fixture, applying commands at increasing log indexes.
struct Service {
  explicit Service(std::uint64_t sources, EvidenceConfig config = {})
      : f(sources), store(&f.registry(), f.cluster(), config) {}

  EvidenceReply run(const Bytes& command) { return reply(store.apply(LogIndex{++index}, command)); }
  EvidenceReply submit(const EvidenceItem& item) { return run(f.submit(item)); }
  EvidenceReply add(std::uint64_t source, const std::string& h, double llr) {
    return submit(f.next(ClientId{source}, h, nats(llr)));
  }
  EvidenceReply posterior(const std::string& h) { return run(f.read(EvidenceOp::kPosterior, h)); }

  Fixture f;
  EvidenceStore store;
  std::uint64_t index = 0;
};

const SecurityError& security_of(const Refusal& r) {
  PHALANX_ASSERT(r.error.security() != nullptr);
  return *r.error.security();
}

TEST(Evidence, FixedPointQuantizesToTheNearestStepHalvesAwayFromZero) {
  const Units step = nats(0.001);
  EXPECT_EQ(quantize(nats(0.0014), step), nats(0.001));
  EXPECT_EQ(quantize(nats(0.0015), step), nats(0.002));
  EXPECT_EQ(quantize(nats(-0.0015), step), nats(-0.002));
  EXPECT_EQ(quantize(nats(-0.0014), step), nats(-0.001));
  EXPECT_EQ(quantize(nats(0.25) + 100, nats(1e-6)), nats(0.25));  // the seed's 1e-13 bias
  EXPECT_EQ(nats(1e-13), 100);
}

TEST(Evidence, AContributionIsClippedThenScaledByReputation) {
  const Units clip = nats(10);
  EXPECT_EQ(contribution(nats(25), clip, kReputationMax, true), nats(10));
  EXPECT_EQ(contribution(-nats(25), clip, kReputationMax, true), -nats(10));
  EXPECT_EQ(contribution(nats(4), clip, 500, true), nats(2));
  EXPECT_EQ(contribution(nats(4), clip, 500, false), nats(4));
  EXPECT_EQ(contribution(-3, clip, 500, true), -2);  // toward -∞
}

TEST(Evidence, TrimmedMeanDropsTheExtremesOnEachSide) {
  const std::vector<Units> values{100, -1'000'000, 4, 6, 5, 1'000'000, 3};
  const TrimmedMean m = trimmed_mean(values, 2);
  EXPECT_EQ(m.mean, 5);  // 4, 5, 6
  EXPECT_EQ(m.low, 4);
  EXPECT_EQ(m.high, 6);
  EXPECT_EQ(trimmed_mean(std::vector<Units>{-3, -4}, 0).mean, -4);  // floor of -3.5
  EXPECT_EQ(log_odds(nats(1), nats(2), 3), nats(7));
  EXPECT_EQ(log_odds(0, nats(90), 1'000'000), kLogOddsMax);
}

TEST(Evidence, ConfigurationsOutOfRangeAreRefusedByName) {
  EXPECT_TRUE(EvidenceConfig{}.validate());
  const auto refused = [](EvidenceConfig c, std::string_view field) {
    Status s = c.validate();
    ASSERT_FALSE(s);
    EXPECT_EQ(s.error().code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(s.error().message().find(field), std::string::npos) << s.error().message();
  };
  refused({.resolution = 0}, "resolution");
  refused({.ratio_bound = 101 * kUnitsPerNat}, "ratio_bound");
  refused({.source_clip = 0}, "source_clip");
  refused({.trim = 2, .min_sources = 4}, "min_sources");
  refused({.items_per_block = 0}, "items_per_block");
  refused({.prior = kLogOddsMax + 1}, "prior");
}

TEST(Evidence, MessagesRoundTripAndGarbageIsMalformed) {
  Fixture f(1);
  const EvidenceItem item = f.next(ClientId{1}, "h", nats(0.5));
  EXPECT_EQ(*codec::decode<EvidenceItem>(codec::encode(item)), item);
  const Bytes submit = f.submit(item);
  EXPECT_EQ(codec::encode(*codec::decode<EvidenceCommand>(submit)), submit);
  EvidenceReply r{EvidenceStatus::kInsufficientEvidence, "why"};
  r.posterior = Posterior{"h", 2, 3, 0, 0, std::nullopt, std::nullopt};
  r.sources = {SourceStanding{ClientId{1}, 4, item.hash(), 17, 700, 4, 1}};
  EXPECT_EQ(*codec::decode<EvidenceReply>(codec::encode(r)), r);

  EvidenceStore store(&f.registry(), f.cluster(), {});
  EXPECT_EQ(reply(store.apply(LogIndex{1}, to_bytes("garbage"))).status,
            EvidenceStatus::kMalformed);
  Bytes truncated = submit;
  truncated.pop_back();
  EXPECT_EQ(reply(store.apply(LogIndex{2}, truncated)).status, EvidenceStatus::kMalformed);
  EXPECT_EQ(store.log_size(), 0u);
}

TEST(Evidence, TheLargestRepliesFitTheSessionTablesCachedReplyLimit) {
  EvidenceReply r{EvidenceStatus::kOk, std::string(kDetailBytesMax, 'x')};
  SourceStanding widest{ClientId{UINT64_MAX}, UINT64_MAX, {}, INT64_MIN, kReputationMax,
                        UINT64_MAX, UINT64_MAX};
  r.sources.assign(kSourcesMax, widest);
  r.posterior = Posterior{std::string(kHypothesisBytesMax, 'h'), UINT32_MAX, UINT32_MAX,
                          UINT32_MAX, INT64_MIN, INT64_MIN, INT64_MIN};
  r.config = EvidenceConfig{};
  r.config_version = UINT64_MAX;
  ItemProof proof;
  proof.item.hypothesis = std::string(kHypothesisBytesMax, 'h');
  proof.item_path.path.resize(crypto::InclusionProof::kPathMax);
  proof.block_path.path.resize(crypto::InclusionProof::kPathMax);
  r.proof = proof;
  EXPECT_LE(codec::encode(r).size(), consensus::SessionTable::kReplyBytesMax);
}

TEST(Evidence, ValidItemsChainAndMoveThePosterior) {
  Service s(3);
  EXPECT_EQ(s.add(1, "h", 0.5).status, EvidenceStatus::kOk);
  EXPECT_EQ(s.add(2, "h", 0.7).status, EvidenceStatus::kOk);
  EvidenceReply low = s.posterior("h");
  EXPECT_EQ(low.status, EvidenceStatus::kInsufficientEvidence);
  EXPECT_EQ(low.posterior->sources, 2u);
  EXPECT_FALSE(low.posterior->log_odds);  // a count below min_sources is never a number
  const EvidenceReply third = s.add(3, "h", 0.3);
  ASSERT_EQ(third.status, EvidenceStatus::kOk);
  // Three sources, t = 1: the mean is the median, 0.5; log-odds 3 × 0.5.
  const EvidenceReply p = s.posterior("h");
  ASSERT_EQ(p.status, EvidenceStatus::kOk);
  EXPECT_EQ(p.posterior->mean, nats(0.5));
  EXPECT_EQ(p.posterior->log_odds, nats(1.5));
  EXPECT_EQ(third.posterior, p.posterior);  // a submit answers with the new posterior
  EXPECT_EQ(s.store.log_size(), 3u);
}

// Every attack on admission: the typed error, the status the submitter sees,
// and nothing applied.
TEST(Evidence, EachAttackOnAdmissionGetsItsTypedErrorAndChangesNothing) {
  Service s(3);
  ASSERT_EQ(s.add(1, "h", 0.5).status, EvidenceStatus::kOk);
  const EvidenceItem good = s.f.next(ClientId{1}, "h", nats(0.5));  // sequence 2, not sent
  const auto refusal = [&](const EvidenceItem& item) {
    std::optional<Refusal> r = s.store.refuse_item(item);
    PHALANX_ASSERT(r.has_value());
    const std::size_t log = s.store.log_size();
    const EvidenceReply answered = s.submit(item);
    EXPECT_EQ(answered.status, r->status);
    EXPECT_EQ(s.store.log_size(), log);
    return *r;
  };

  EvidenceItem forged = good;
  forged.llr = nats(5);  // changed after signing
  Refusal r = refusal(forged);
  EXPECT_EQ(r.status, EvidenceStatus::kSignatureInvalid);
  EXPECT_TRUE(std::holds_alternative<SignatureInvalid>(security_of(r)));

  EvidenceItem impostor = good;  // source 2's id, source 1's signature
  impostor.source = ClientId{2};
  EXPECT_TRUE(std::holds_alternative<SignatureInvalid>(security_of(refusal(impostor))));

  // An unknown source reads as a bad signature outside (no id oracle); the
  // refusal inside says what it was.
  EvidenceItem stranger = good;
  stranger.source = ClientId{77};
  r = refusal(stranger);
  EXPECT_EQ(r.status, EvidenceStatus::kSignatureInvalid);
  EXPECT_EQ(std::get<AuthenticationFailed>(security_of(r)).reason, AuthFailure::kUnknownPrincipal);
  for (const EvidenceItem& item : {stranger, impostor, forged}) {
    EXPECT_EQ(s.submit(item).detail, "authentication failed");
  }

  // A plain client and an administrator may not submit evidence.
  for (ClientId who : {kPlainClient, kAdmin}) {
    EvidenceItem item{s.f.cluster(), who, "h", nats(0.1), 1, {}, 1, {}};
    security::sign(item, testing::key_of(who));
    r = refusal(item);
    EXPECT_EQ(r.status, EvidenceStatus::kNotPermitted);
    EXPECT_EQ(std::get<AuthorizationDenied>(security_of(r)).action, Action::kSubmitEvidence);
  }

  EvidenceItem elsewhere{ClusterId{}, ClientId{2}, "h", nats(0.1), 1, {}, 1, {}};
  elsewhere.cluster[0] = 9;
  security::sign(elsewhere, testing::key_of(ClientId{2}));
  EXPECT_EQ(refusal(elsewhere).status, EvidenceStatus::kWrongCluster);

  // The good item is admitted once; the same item again is a replay.
  ASSERT_EQ(s.submit(good).status, EvidenceStatus::kOk);
  r = refusal(good);
  EXPECT_EQ(r.status, EvidenceStatus::kItemReplay);
  EXPECT_EQ(std::get<NonceReplay>(security_of(r)).nonce, 2u);
  EXPECT_EQ(std::get<NonceReplay>(security_of(r)).highest_seen, 2u);
  EXPECT_EQ(s.store.tally().posterior("h", {}).sources, 1u);
}

TEST(Evidence, AReorderedForgedOrBackdatedChainIsRefused) {
  Service s(2);
  const EvidenceItem first = s.f.next(ClientId{1}, "h", nats(0.1));
  const EvidenceItem second = s.f.next(ClientId{1}, "h", nats(0.2));
  const EvidenceItem third = s.f.next(ClientId{1}, "h", nats(0.3));
  ASSERT_EQ(s.submit(first).status, EvidenceStatus::kOk);
  // Reordered: the third before the second.
  std::optional<Refusal> r = s.store.refuse_item(third);
  ASSERT_TRUE(r);
  EXPECT_EQ(std::get<ChainBroken>(security_of(*r)).fault, ChainFault::kGap);
  EXPECT_EQ(std::get<ChainBroken>(security_of(*r)).expected, 2u);
  EXPECT_EQ(s.submit(third).status, EvidenceStatus::kChainBroken);

  // A validly signed item whose previous hash skips the real history.
  EvidenceItem forked{s.f.cluster(), ClientId{1}, "h", nats(0.9), 2, third.hash(), 5, {}};
  security::sign(forked, testing::key_of(ClientId{1}));
  r = s.store.refuse_item(forked);
  ASSERT_TRUE(r);
  EXPECT_EQ(std::get<ChainBroken>(security_of(*r)).fault, ChainFault::kPreviousMismatch);

  EvidenceItem backdated{s.f.cluster(),          ClientId{1}, "h", nats(0.9), 2, first.hash(),
                         first.timestamp_ms - 1, {}};
  security::sign(backdated, testing::key_of(ClientId{1}));
  r = s.store.refuse_item(backdated);
  ASSERT_TRUE(r);
  EXPECT_EQ(std::get<ChainBroken>(security_of(*r)).fault, ChainFault::kTimeBackwards);

  // In order, the real history goes in.
  EXPECT_EQ(s.submit(second).status, EvidenceStatus::kOk);
  EXPECT_EQ(s.submit(third).status, EvidenceStatus::kOk);
  EXPECT_EQ(s.store.sources()[0].sequence, 3u);
  EXPECT_EQ(s.store.refusals().at("chain broken"), 1u);
}

TEST(Evidence, BoundsHypothesisCountAndPerBlockRateAreEnforced) {
  Service s(2, EvidenceConfig{.items_per_block = 3, .hypotheses_max = 2});
  const ClientId one{1};
  EXPECT_EQ(s.submit(s.f.peek(one, "h", nats(25))).status, EvidenceStatus::kOutOfBounds);
  s.store.begin_block(1);
  EXPECT_EQ(s.add(1, "a", 0.1).status, EvidenceStatus::kOk);
  EXPECT_EQ(s.add(1, "b", 0.1).status, EvidenceStatus::kOk);
  EXPECT_EQ(s.submit(s.f.peek(one, "c", nats(0.1))).status, EvidenceStatus::kTooManyHypotheses);
  EXPECT_EQ(s.add(1, "a", 0.1).status, EvidenceStatus::kOk);
  const EvidenceItem fourth = s.f.next(one, "a", nats(0.1));
  std::optional<Refusal> r = s.store.refuse_item(fourth);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, EvidenceStatus::kRateLimited);
  EXPECT_TRUE(std::holds_alternative<RateLimitExceeded>(security_of(*r)));
  EXPECT_EQ(s.submit(fourth).status, EvidenceStatus::kRateLimited);
  EXPECT_EQ(s.add(2, "a", 0.1).status, EvidenceStatus::kOk);  // the limit is per source
  s.store.begin_block(2);
  EXPECT_EQ(s.submit(fourth).status, EvidenceStatus::kOk);  // a new block, a new window
}

TEST(Evidence, ARetriedCommandIsAnsweredFromTheSessionNotAppliedTwice) {
  Service s(1);
  const Bytes command = s.f.submit(s.f.next(ClientId{1}, "h", nats(0.4)));
  const EvidenceReply first = s.run(command);
  EXPECT_EQ(s.run(command), first);
  EXPECT_EQ(s.store.executed(), 1u);
  EXPECT_EQ(s.store.log_size(), 1u);
}

// The seed's precision attack on the arithmetic alone, at its full size:
// 8 of 25 sources (32%) add 1e-13 nats to each of 10,000 items.
TEST(Evidence, ThePrecisionAttackMovesNothingOnceRatiosAreQuantized) {
  constexpr std::uint64_t kSources = 25;
  constexpr std::uint64_t kLiars = 8;
  constexpr int kItems = 10'000;
  const auto run = [&](EvidenceConfig c, Units bias) {
    Tally t;
    for (int i = 0; i < kItems; ++i) {
      for (std::uint64_t s = 1; s <= kSources; ++s) {
        t.add(ClientId{s}, "h", nats(0.001) + (s <= kLiars ? bias : 0), c);
      }
    }
    return t.posterior("h", c);
  };
  const EvidenceConfig quantized{};  // resolution 1e-6 nats
  const Posterior honest = run(quantized, 0);
  const Posterior attacked = run(quantized, nats(1e-13));
  // Honest evidence moves the posterior as expected: 10 nats per source.
  EXPECT_EQ(honest.mean, nats(10));
  EXPECT_EQ(honest.log_odds, 25 * nats(10));
  EXPECT_EQ(attacked, honest);  // the documented bound here is zero

  // Non-vacuity: without quantization the same attack does move it.
  EvidenceConfig exact;
  exact.resolution = 1;
  EXPECT_GT(*run(exact, nats(1e-13)).log_odds, *run(exact, 0).log_odds);
}

// The same attack end to end, through signatures and chains, at a size a
// test can sign: 8 of 25 sources, 200 items each.
TEST(Evidence, ThePrecisionAttackThroughTheStoreMovesNothing) {
  const auto run = [](Units bias) {
    Service s(25);
    for (int i = 0; i < 200; ++i) {
      s.store.begin_block(static_cast<std::uint64_t>(i / 2));
      for (std::uint64_t src = 1; src <= 25; ++src) {
        const Units llr = nats(0.01) + (src <= 8 ? bias : 0);
        PHALANX_ASSERT(s.submit(s.f.next(ClientId{src}, "h", llr)).status == EvidenceStatus::kOk);
      }
    }
    return *s.posterior("h").posterior;
  };
  const Posterior honest = run(0);
  EXPECT_EQ(honest.log_odds, 25 * nats(2));
  EXPECT_EQ(run(nats(1e-13)), honest);
}

// t loud liars report the extreme ratio every time: the mean stays within
// what the honest sources alone span, and the liars lose reputation.
TEST(Evidence, LoudLiarsStayWithinTheHonestRangeAndLoseReputation) {
  for (const double extreme : {20.0, -20.0}) {
    EvidenceConfig c{.trim = 2, .min_sources = 5};
    Service s(9, c);
    const std::vector<double> honest{0.2, 0.3, 0.25, 0.35, 0.15, 0.3, 0.2};  // sources 3..9
    for (int round = 0; round < 10; ++round) {
      s.store.begin_block(static_cast<std::uint64_t>(round));
      for (std::uint64_t src = 1; src <= 9; ++src) {
        const double llr = src <= 2 ? extreme : honest[src - 3];
        ASSERT_EQ(s.add(src, "h", llr).status, EvidenceStatus::kOk);
      }
    }
    std::vector<Units> honest_contributions;
    for (std::uint64_t src = 3; src <= 9; ++src) {
      const Units total = 10 * nats(honest[src - 3]);
      honest_contributions.push_back(
          contribution(total, c.source_clip, s.store.tally().reputation(ClientId{src}), true));
    }
    const Posterior p = *s.posterior("h").posterior;
    ASSERT_TRUE(p.mean);
    EXPECT_GE(*p.mean, *std::min_element(honest_contributions.begin(), honest_contributions.end()));
    EXPECT_LE(*p.mean, *std::max_element(honest_contributions.begin(), honest_contributions.end()));
    for (std::uint64_t liar : {1, 2}) {
      EXPECT_LT(s.store.tally().reputation(ClientId{liar}),
                s.store.tally().reputation(ClientId{5}));
      EXPECT_GT(s.store.tally().penalized(ClientId{liar}), 0u);
    }
    EXPECT_EQ(s.store.tally().reputation(ClientId{5}), kReputationMax);
  }
}

// Reputation judges a source's average per item against the retained
// averages: near the consensus is fine, against it or far beyond is not.
TEST(Evidence, ReputationPenalizesSourcesFarFromOrAgainstTheConsensusOnly) {
  const EvidenceConfig c{};  // t = 1, three sources before anything is judged
  Tally t;
  for (std::uint64_t s = 1; s <= 3; ++s) t.add(ClientId{s}, "h", nats(0.4), c);
  t.add(ClientId{1}, "h", nats(0.45), c);  // average 0.425: close to 0.4
  EXPECT_EQ(t.reputation(ClientId{1}), kReputationMax);
  t.add(ClientId{4}, "h", nats(-0.3), c);  // against a consensus of +0.4
  EXPECT_EQ(t.reputation(ClientId{4}), kReputationMax - kPenalty);
  t.add(ClientId{5}, "h", nats(3), c);  // seven times the consensus
  EXPECT_EQ(t.reputation(ClientId{5}), kReputationMax - kPenalty);
  EXPECT_EQ(t.penalized(ClientId{5}), 1u);
  // Behaving again earns the points back, 10 per item.
  for (int i = 0; i < 20; ++i) t.add(ClientId{4}, "h", nats(1.0), c);
  EXPECT_EQ(t.reputation(ClientId{4}), kReputationMax);
  // Weighted: a penalized source's total counts for its points / 1000.
  EXPECT_EQ(contribution(nats(3), c.source_clip, t.reputation(ClientId{5}), true),
            nats(3) * 950 / 1000);
}

TEST(Evidence, OnlyAnAdministratorsNextVersionChangesTheConfiguration) {
  Service s(3);
  EvidenceConfig stricter{.trim = 2, .min_sources = 7};
  const ConfigChange change = s.f.change(1, stricter);
  EvidenceReply r = s.run(s.f.configure(change));
  ASSERT_EQ(r.status, EvidenceStatus::kOk);
  EXPECT_EQ(s.store.config(), stricter);
  EXPECT_EQ(s.store.config_version(), 1u);
  EXPECT_EQ(s.run(s.f.read(EvidenceOp::kConfig)).config, stricter);

  // Replayed to roll back or re-apply: stale.
  std::optional<Refusal> refused = s.store.refuse_change(change);
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, EvidenceStatus::kStaleConfig);
  EXPECT_TRUE(std::holds_alternative<NonceReplay>(security_of(*refused)));
  EXPECT_EQ(s.store.refuse_change(s.f.change(3, {}))->status, EvidenceStatus::kStaleConfig);
  // A source may not reconfigure.
  refused = s.store.refuse_change(s.f.change(2, {}, ClientId{1}));
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, EvidenceStatus::kNotPermitted);
  // A forged signature.
  ConfigChange forged = s.f.change(2, {});
  forged.config.trim = 0;
  EXPECT_EQ(s.store.refuse_change(forged)->status, EvidenceStatus::kSignatureInvalid);
  // Out of range.
  EXPECT_EQ(s.run(s.f.configure(s.f.change(2, {.resolution = 0}))).status,
            EvidenceStatus::kBadConfig);
  EXPECT_EQ(s.store.config(), stricter);
}

TEST(Evidence, EveryItemHasAProofToTheDigestAndTamperingBreaksIt) {
  Service s(3);
  for (std::uint64_t block = 1; block <= 3; ++block) {
    s.store.begin_block(block * 10);
    for (std::uint64_t src = 1; src <= 3; ++src) {
      for (std::uint64_t k = 0; k < block; ++k)
        ASSERT_EQ(s.add(src, "h", 0.1).status, EvidenceStatus::kOk);
    }
  }
  for (std::uint64_t src = 1; src <= 3; ++src) {
    for (std::uint64_t seq = 1; seq <= 6; ++seq) {
      // The proof is of the state the query was applied to (its own session
      // entry comes after).
      const crypto::Hash32 now = s.store.digest();
      const EvidenceReply r = s.run(s.f.read(EvidenceOp::kProof, {}, ClientId{src}, seq));
      ASSERT_EQ(r.status, EvidenceStatus::kOk);
      const ItemProof& p = *r.proof;
      EXPECT_EQ(p.item.source, ClientId{src});
      EXPECT_EQ(p.item.sequence, seq);
      EXPECT_EQ(p.digest, now);
      EXPECT_TRUE(verify_proof(p));
      ItemProof changed = p;
      changed.item.llr += 1;
      EXPECT_FALSE(verify_proof(changed));
      changed = p;
      changed.block_height += 1;
      EXPECT_FALSE(verify_proof(changed));
      changed = p;
      changed.rest[0] ^= 1;
      EXPECT_FALSE(verify_proof(changed));
      if (!changed.item_path.path.empty()) {
        changed = p;
        changed.item_path.path[0][0] ^= 1;
        EXPECT_FALSE(verify_proof(changed));
      }
    }
  }
  EXPECT_EQ(s.run(s.f.read(EvidenceOp::kProof, {}, ClientId{1}, 7)).status,
            EvidenceStatus::kNotFound);
  EXPECT_EQ(s.run(s.f.read(EvidenceOp::kProof, {}, ClientId{9}, 1)).status,
            EvidenceStatus::kNotFound);
}

TEST(Evidence, ASnapshotRestoresTheSameStateAndACorruptOneChangesNothing) {
  Service s(3, EvidenceConfig{.items_per_block = 2});
  s.store.begin_block(4);
  for (std::uint64_t src = 1; src <= 3; ++src) {
    ASSERT_EQ(s.add(src, "h", 0.2 * static_cast<double>(src)).status, EvidenceStatus::kOk);
    ASSERT_EQ(s.add(src, "g", -0.1).status, EvidenceStatus::kOk);
  }
  const Bytes snap = s.store.snapshot();
  EvidenceStore back(&s.f.registry(), s.f.cluster(), {});
  ASSERT_TRUE(back.restore(snap));
  EXPECT_EQ(back.digest(), s.store.digest());
  EXPECT_EQ(back.snapshot(), snap);
  EXPECT_EQ(back.sources(), s.store.sources());
  // The restored store goes on exactly as the original: same chain, same
  // per-block count (source 1 has used its 2 items in block 4).
  const EvidenceItem next = s.f.next(ClientId{1}, "h", nats(0.1));
  EXPECT_EQ(back.refuse_item(next)->status, EvidenceStatus::kRateLimited);
  back.begin_block(5);
  EXPECT_FALSE(back.refuse_item(next));

  const crypto::Hash32 before = back.digest();
  Bytes corrupt = snap;
  corrupt[corrupt.size() - 70] ^= 1;  // inside the last item's signed fields
  EXPECT_FALSE(back.restore(corrupt));
  Bytes truncated(snap.begin(), snap.end() - 1);
  EXPECT_FALSE(back.restore(truncated));
  EXPECT_EQ(back.digest(), before);
}

TEST(Evidence, TheMachineNamesTheActionEachCommandNeeds) {
  Fixture f(1);
  EvidenceMachine m(&f.registry(), f.cluster(), {});
  const Bytes submit = f.submit(f.next(ClientId{1}, "h", nats(0.1)));
  EXPECT_EQ(m.action(submit), Action::kSubmitEvidence);
  EXPECT_FALSE(m.read_only(submit));
  EXPECT_TRUE(m.issued_by(submit, ClientId{1}, 1));
  EXPECT_FALSE(m.issued_by(submit, ClientId{2}, 1));
  EXPECT_EQ(m.action(f.configure(f.change(1, {}))), Action::kReconfigure);
  const Bytes read = f.read(EvidenceOp::kPosterior, "h");
  EXPECT_EQ(m.action(read), Action::kRead);
  EXPECT_TRUE(m.read_only(read));
  EXPECT_EQ(reply(m.query(read)).status, EvidenceStatus::kInsufficientEvidence);
  EXPECT_EQ(reply(m.query(submit)).status, EvidenceStatus::kMalformed);
  const crypto::Hash32 empty = m.digest();
  EXPECT_TRUE(m.apply(LogIndex{1}, submit).executed);
  EXPECT_NE(m.digest(), empty);
  m.clear();
  EXPECT_EQ(m.digest(), empty);
}

}  // namespace
}  // namespace phalanx::evidence
