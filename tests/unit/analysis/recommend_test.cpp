#include "analysis/recommend.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <stdexcept>
#include <vector>

#include "analysis/units.h"

namespace ramflow::analysis {
namespace {

TEST(RecommendLimit, PeakPlusHeadroom) {
  const auto r = recommend_limit({.peak_bytes = 1000 * kMiB});
  EXPECT_DOUBLE_EQ(r.bytes, 1200 * kMiB);
  EXPECT_EQ(format_quantity(r.bytes), "1200Mi");
  EXPECT_NE(r.reason.find("20 % headroom"), std::string::npos);
  EXPECT_FALSE(r.recycle_instead);
}

TEST(RecommendLimit, RoundsUpToAWholeMi) {
  EXPECT_DOUBLE_EQ(recommend_limit({.peak_bytes = 100 * kMiB + 1}).bytes, 121 * kMiB);
}

TEST(RecommendLimit, AMediumLeakAddsItsRateOverTheRestartHorizonWhenObservedThatLong) {
  // 1 KiB/s x 86400 s = 84.375 MiB -> 1284.375 MiB -> 1285 MiB.
  const auto r = recommend_limit(
      {.peak_bytes = 1000 * kMiB, .leak = LeakEvidence{LeakLevel::medium, kKiB, 3 * 86400.0}});
  EXPECT_DOUBLE_EQ(r.bytes, 1285 * kMiB);
  EXPECT_DOUBLE_EQ(r.leak_allowance_bytes, 86400 * kKiB);
  EXPECT_NE(r.reason.find("medium leak"), std::string::npos);
}

TEST(RecommendLimit, TheLeakAllowanceNeverExtrapolatesBeyondTheSpanObserved) {
  // The demo's story: 43 MiB/s seen over 10 s is 430 MiB, not 43 MiB/s x 24 h.
  const auto r = recommend_limit({.peak_bytes = 81 * kMiB, .leak = LeakEvidence{LeakLevel::medium, 43 * kMiB, 10.0}});
  EXPECT_DOUBLE_EQ(r.leak_allowance_bytes, 430 * kMiB);
  EXPECT_DOUBLE_EQ(r.bytes, std::ceil((81 * 1.2 + 430)) * kMiB);
  EXPECT_NE(r.reason.find("not extrapolated further"), std::string::npos);
}

TEST(RecommendLimit, AHighLeakAddsNothingAndSaysToRecycle) {
  const auto r = recommend_limit({.peak_bytes = 81 * kMiB, .leak = LeakEvidence{LeakLevel::high, 43 * kMiB, 3600.0}});
  EXPECT_DOUBLE_EQ(r.bytes, std::ceil(81 * 1.2) * kMiB);
  EXPECT_DOUBLE_EQ(r.leak_allowance_bytes, 0);
  EXPECT_TRUE(r.recycle_instead);
  EXPECT_NE(r.reason.find("recycle"), std::string::npos);
}

TEST(RecommendLimit, NeverBelowAnOomVictimPlusHeadroom) {
  // The victim held 1100 MiB at death: 1320 MiB beats 1200 MiB from the peak.
  const auto r = recommend_limit({.peak_bytes = 1000 * kMiB, .oom_victim_bytes = 1100 * kMiB});
  EXPECT_DOUBLE_EQ(r.bytes, 1320 * kMiB);
  EXPECT_NE(r.reason.find("OOM-killed"), std::string::npos);
  // A small victim does not lower the limit.
  EXPECT_DOUBLE_EQ(recommend_limit({.peak_bytes = 1000 * kMiB, .oom_victim_bytes = 10 * kMiB}).bytes, 1200 * kMiB);
}

TEST(RecommendLimit, AboveTheNodesMemoryIsSaidNotCapped) {
  const auto r = recommend_limit({.peak_bytes = 30 * kGiB, .node_memory_bytes = 24 * kGiB});
  EXPECT_DOUBLE_EQ(r.bytes, 36 * kGiB);
  EXPECT_TRUE(r.above_node_memory);
  EXPECT_NE(r.reason.find("above this node"), std::string::npos);
}

TEST(RecommendLimit, RejectsNegativeHeadroom) {
  EXPECT_THROW(recommend_limit({.peak_bytes = 1, .headroom = -0.1}), std::invalid_argument);
}

TEST(RecommendRequest, P90OfBucketPeaksTimesOnePointOneFive) {
  std::vector<double> peaks;
  for (int i = 1; i <= 10; ++i) peaks.push_back(i * 100 * kMiB);
  const auto r = recommend_request(peaks, 2000 * kMiB);  // p90 = 900 MiB -> 1035 MiB
  EXPECT_DOUBLE_EQ(r.bytes, 1035 * kMiB);
  EXPECT_EQ(format_quantity(r.bytes), "1035Mi");
}

TEST(RecommendRequest, NeverAboveTheLimitAndSaysSo) {
  std::vector<double> peaks(10, 100 * kMiB);
  const auto r = recommend_request(peaks, 110 * kMiB);  // 115 MiB wanted
  EXPECT_DOUBLE_EQ(r.bytes, 110 * kMiB);
  EXPECT_NE(r.reason.find("equals the limit"), std::string::npos);
}

// Invariants over many groups: request <= limit >= peak x (1 + headroom), whatever the leak.
TEST(Recommendations, RequestNeverAboveLimitAndLimitNeverBelowThePeakWithHeadroom) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<double> mib(1, 4096), frac(0, 1);
  for (int i = 0; i < 2000; ++i) {
    const double peak = mib(rng) * kMiB;
    std::vector<double> buckets;
    for (int b = 0; b < 50; ++b) buckets.push_back(peak * frac(rng));
    buckets.push_back(peak);
    LimitInputs in{.peak_bytes = peak, .headroom = frac(rng) * 0.5};
    if (i % 3 == 1) in.leak = LeakEvidence{LeakLevel::medium, frac(rng) * kMiB, frac(rng) * 86400};
    if (i % 3 == 2) in.leak = LeakEvidence{LeakLevel::high, frac(rng) * kMiB, frac(rng) * 86400};
    const auto limit = recommend_limit(in);
    const auto request = recommend_request(buckets, limit.bytes);
    EXPECT_GE(limit.bytes, peak * (1 + in.headroom)) << i;
    EXPECT_LE(request.bytes, limit.bytes) << i;
    EXPECT_GT(request.bytes, 0) << i;
  }
}

TEST(FormatQuantity, ExactBinaryUnits) {
  EXPECT_EQ(format_quantity(512 * kMiB), "512Mi");
  EXPECT_EQ(format_quantity(1536 * kMiB), "1536Mi");
  EXPECT_EQ(format_quantity(2 * kGiB), "2Gi");
  EXPECT_EQ(format_quantity(1536 * kKiB), "1536Ki");
  EXPECT_EQ(format_quantity(1000), "1000");
  EXPECT_EQ(format_quantity(0), "0");
}

TEST(CeleryMaxMemoryPerChild, BudgetKeepsThePodUnderTheLimit) {
  // (1200 - 200) MiB / 4 = 250 MiB = 256000 KiB.
  const auto r = recommend_celery(
      {.limit_bytes = 1200 * kMiB, .main_rss_bytes = 200 * kMiB, .concurrency = 4, .child_baseline_bytes = 150 * kMiB});
  EXPECT_EQ(r.kib, 256000);
  EXPECT_DOUBLE_EQ(r.bytes, 250 * kMiB);
  EXPECT_FALSE(r.trap);
  EXPECT_LE(4 * r.bytes + 200 * kMiB, 1200 * kMiB);
}

TEST(CeleryMaxMemoryPerChild, TrapWhenAFreshChildIsAlreadyOverTheBudget) {
  // 8 children: 125 MiB each, but a fresh child already holds 150 MiB.
  const auto r = recommend_celery(
      {.limit_bytes = 1200 * kMiB, .main_rss_bytes = 200 * kMiB, .concurrency = 8, .child_baseline_bytes = 150 * kMiB});
  EXPECT_EQ(r.kib, 128000);
  EXPECT_TRUE(r.trap);
  EXPECT_NE(r.trap_reason.find("recycled after its first task"), std::string::npos);
}

TEST(CeleryMaxMemoryPerChild, TrapWhenTheConfiguredValueIsUnderAFreshChild) {
  const auto r = recommend_celery({.limit_bytes = 1200 * kMiB,
                                                        .main_rss_bytes = 200 * kMiB,
                                                        .concurrency = 4,
                                                        .child_baseline_bytes = 150 * kMiB,
                                                        .configured_kib = 102400});
  EXPECT_TRUE(r.trap);
  EXPECT_NE(r.trap_reason.find("102400 KiB"), std::string::npos);
}

TEST(CeleryMaxTasksPerChild, ALeakingChildIsRecycledBeforeItOutgrowsItsBudget) {
  // Budget 250 MiB, a fresh child at 150 MiB, growing 2 MiB per task: 50 tasks.
  const auto r = recommend_celery({.limit_bytes = 1200 * kMiB,
                                   .main_rss_bytes = 200 * kMiB,
                                   .concurrency = 4,
                                   .child_baseline_bytes = 150 * kMiB,
                                   .child_growth_bytes_per_task = 2 * kMiB});
  ASSERT_TRUE(r.max_tasks_per_child);
  EXPECT_EQ(*r.max_tasks_per_child, 50);
  EXPECT_NE(r.max_tasks_reason.find("2.0 MiB per task"), std::string::npos);
  EXPECT_FALSE(recommend_celery({.limit_bytes = 1200 * kMiB, .main_rss_bytes = 200 * kMiB, .concurrency = 4})
                   .max_tasks_per_child);
}

TEST(CeleryMaxMemoryPerChild, RejectsZeroConcurrency) {
  EXPECT_THROW(recommend_celery({.limit_bytes = 1, .concurrency = 0}), std::invalid_argument);
}

}  // namespace
}  // namespace ramflow::analysis
