// The load generator's pure parts: histogram accuracy, op mixes, key
// distributions, and the three renderings of a run.
#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>

#include "loadgen/histogram.h"
#include "loadgen/report.h"
#include "loadgen/workload.h"

namespace phalanx::loadgen {
namespace {

TEST(Histogram, SmallValuesAreExactAndLargeOnesWithinOnePart128) {
  for (std::uint64_t v = 0; v < 256; ++v)
    EXPECT_EQ(Histogram::bucket_high(Histogram::bucket_of(v)), v);
  for (const std::uint64_t v : std::initializer_list<std::uint64_t>{
           256, 257, 1'000, 999'999, 12'345'678'901, Histogram::kValueMax}) {
    const std::uint64_t high = Histogram::bucket_high(Histogram::bucket_of(v));
    EXPECT_GE(high, v);
    EXPECT_LE(static_cast<double>(high - v), static_cast<double>(v) / 128.0) << v;
  }
  EXPECT_EQ(Histogram::bucket_of(Histogram::kValueMax), Histogram::kBuckets - 1);
  EXPECT_EQ(Histogram::bucket_of(UINT64_MAX), Histogram::kBuckets - 1);  // clamped
}

TEST(Histogram, PercentilesOfAKnownSpread) {
  Histogram h;
  EXPECT_EQ(h.percentile(99), 0u);  // empty
  for (std::uint64_t ms = 1; ms <= 100; ++ms) h.record(ms * 1'000'000);
  EXPECT_EQ(h.count(), 100u);
  EXPECT_EQ(h.min(), 1'000'000u);
  EXPECT_EQ(h.max(), 100'000'000u);
  EXPECT_NEAR(static_cast<double>(h.percentile(50)), 50e6, 50e6 / 128);
  EXPECT_NEAR(static_cast<double>(h.percentile(99)), 99e6, 99e6 / 128);
  EXPECT_EQ(h.percentile(100), h.max());
  EXPECT_NEAR(h.mean(), 50.5e6, 1);
  Histogram other;
  other.record(5);
  h.merge(other);
  EXPECT_EQ(h.count(), 101u);
  EXPECT_EQ(h.min(), 5u);
}

TEST(OpMix, ParsesWeightsAndRefusesWhatItCannotMean) {
  const Result<OpMix> mix = OpMix::parse("put:50,get:45,cas:5");
  ASSERT_TRUE(mix);
  EXPECT_EQ(mix->put, 50u);
  EXPECT_EQ(mix->get, 45u);
  EXPECT_EQ(mix->cas, 5u);
  EXPECT_EQ(mix->to_string(), "put:50,get:45,cas:5");
  EXPECT_EQ(OpMix::parse("get:1")->put, 0u);
  for (const char* bad : {"", "put", "put:", "put:x", "put:-1", "del:5", "put:1,put:2", "put:0",
                          "put:50,", "put:5000"}) {
    Result<OpMix> r = OpMix::parse(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument) << bad;
  }
}

TEST(OpMix, PicksInProportion) {
  const OpMix mix = *OpMix::parse("put:25,get:75");
  std::map<OpKind, int> n;
  for (int i = 0; i < 1000; ++i) ++n[mix.pick(i / 1000.0)];
  EXPECT_EQ(n[OpKind::kPut], 250);
  EXPECT_EQ(n[OpKind::kGet], 750);
  EXPECT_EQ(n[OpKind::kCas], 0);
}

TEST(KeyChooser, DistinctNeverRepeatsUniformCoversZipfianFavoursTheFirstKeys) {
  KeyChooser distinct(Distribution::kDistinct, 1, 1, 100);
  EXPECT_EQ(distinct.next(), 100u);
  EXPECT_EQ(distinct.next(), 101u);

  constexpr std::uint64_t kSpace = 1000;
  constexpr int kDraws = 100'000;
  KeyChooser uniform(Distribution::kUniform, kSpace, 7);
  KeyChooser zipf(Distribution::kZipfian, kSpace, 7);
  std::vector<int> u(kSpace), z(kSpace);
  for (int i = 0; i < kDraws; ++i) {
    const std::uint64_t a = uniform.next();
    const std::uint64_t b = zipf.next();
    ASSERT_LT(a, kSpace);
    ASSERT_LT(b, kSpace);
    ++u[a];
    ++z[b];
  }
  // Uniform: every key near 100 draws. Zipfian (theta 0.99, n 1000): key 0
  // gets about 1/zeta(n) = 13% of the draws, the top 10 keys about 38%.
  EXPECT_LT(*std::max_element(u.begin(), u.end()), 200);
  EXPECT_GT(*std::min_element(u.begin(), u.end()), 40);
  EXPECT_NEAR(z[0] / static_cast<double>(kDraws), 0.133, 0.02);
  int top10 = 0;
  for (int k = 0; k < 10; ++k) top10 += z[k];
  EXPECT_NEAR(top10 / static_cast<double>(kDraws), 0.39, 0.04);
  // The same seed draws the same keys.
  KeyChooser again(Distribution::kZipfian, kSpace, 7);
  KeyChooser once_more(Distribution::kZipfian, kSpace, 7);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(again.next(), once_more.next());
}

TEST(KeyChooser, KeyNamesSortAsTheirNumbers) {
  EXPECT_EQ(key_name("k-", 42), "k-000000000042");
  EXPECT_LT(key_name("", 9), key_name("", 10));
}

RunResult sample_run() {
  Recorder rec;
  rec.record(OpKind::kPut, 999, true);  // warm-up, forgotten
  rec.reset();
  for (int s = 1; s <= 3; ++s) {
    for (int i = 1; i <= 100 * s; ++i)
      rec.record(OpKind::kPut, 1'000'000 * static_cast<std::uint64_t>(s), true);
    rec.record(OpKind::kGet, 500'000, true);
    rec.record(OpKind::kCas, 2'000'000, true, /*cas_conflict=*/true);
    rec.record(OpKind::kPut, 0, false);
    rec.close_interval(s);
  }
  RunSettings settings{"phalanx <crash> & co",
                       16,
                       *OpMix::parse("put:90,get:5,cas:5"),
                       Distribution::kZipfian,
                       1000,
                       64,
                       2.0};
  return rec.result(settings, 3.0);
}

TEST(Report, TheRunIsCountedPerOperationAndPerInterval) {
  const RunResult r = sample_run();
  EXPECT_EQ(r.ops(), 606u);
  EXPECT_EQ(r.errors, 3u);
  EXPECT_EQ(r.cas_conflicts, 3u);
  EXPECT_DOUBLE_EQ(r.ops_per_second(), 202.0);
  ASSERT_EQ(r.timeline.size(), 3u);
  EXPECT_EQ(r.timeline[2].ops, 302u);
  EXPECT_NEAR(static_cast<double>(r.timeline[2].p50_ns), 3e6, 3e6 / 128);
}

TEST(Report, TableJsonAndSvgSayTheSameThing) {
  const RunResult r = sample_run();
  const std::string table = to_table(r);
  EXPECT_NE(table.find("concurrency 16"), std::string::npos) << table;
  EXPECT_NE(table.find("put"), std::string::npos);
  EXPECT_NE(table.find("errors 3, cas conflicts 3"), std::string::npos) << table;

  const nlohmann::json j = nlohmann::json::parse(to_json(r));
  EXPECT_EQ(j["ops"], 606);
  EXPECT_EQ(j["concurrency"], 16);
  EXPECT_EQ(j["distribution"], "zipfian");
  EXPECT_EQ(j["by_op"]["get"]["count"], 3);
  EXPECT_EQ(j["timeline"].size(), 3u);
  EXPECT_NEAR(j["latency"]["p50_ms"].get<double>(), 2.0, 0.02);

  const std::string svg = plot_svg(r);
  EXPECT_EQ(svg.rfind("<svg", 0), 0u);
  EXPECT_NE(svg.find("</svg>"), std::string::npos);
  EXPECT_EQ(std::count(svg.begin(), svg.end(), '\n') > 5, true);
  std::size_t lines = 0;
  for (std::size_t at = svg.find("<polyline"); at != std::string::npos;
       at = svg.find("<polyline", at + 1)) {
    ++lines;
  }
  EXPECT_EQ(lines, 3u);                                                      // ops/s, p50, p99
  EXPECT_NE(svg.find("phalanx &lt;crash&gt; &amp; co"), std::string::npos);  // escaped
}

}  // namespace
}  // namespace phalanx::loadgen
