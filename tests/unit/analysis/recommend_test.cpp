#include "analysis/recommend.h"

#include <gtest/gtest.h>

#include <stdexcept>
#include <vector>

#include "analysis/units.h"

namespace ramflow::analysis {
namespace {

TEST(RecommendLimit, PeakPlusHeadroom) {
  const auto r = recommend_limit({.pod_peak_bytes = 1000 * kMiB});
  EXPECT_DOUBLE_EQ(r.bytes, 1200 * kMiB);
  EXPECT_EQ(format_quantity(r.bytes), "1200Mi");
  EXPECT_NE(r.reason.find("20 % headroom"), std::string::npos);
}

TEST(RecommendLimit, RoundsUpToAWholeMi) {
  EXPECT_DOUBLE_EQ(recommend_limit({.pod_peak_bytes = 100 * kMiB + 1}).bytes, 121 * kMiB);
}

TEST(RecommendLimit, AddsTheLeakOverTheRestartHorizon) {
  // 1 KiB/s x 86400 s = 84.375 MiB -> 1284.375 MiB -> 1285 MiB.
  const auto r = recommend_limit({.pod_peak_bytes = 1000 * kMiB, .leak_rate_bytes_per_s = kKiB});
  EXPECT_DOUBLE_EQ(r.bytes, 1285 * kMiB);
  EXPECT_NE(r.reason.find("leak"), std::string::npos);
}

TEST(RecommendLimit, NeverBelowAnOomVictimPlusHeadroom) {
  // The victim held 1100 MiB at death: 1320 MiB beats 1200 MiB from the peak.
  const auto r = recommend_limit({.pod_peak_bytes = 1000 * kMiB, .oom_victim_bytes = 1100 * kMiB});
  EXPECT_DOUBLE_EQ(r.bytes, 1320 * kMiB);
  EXPECT_NE(r.reason.find("OOM-killed"), std::string::npos);
  // A small victim does not lower the limit.
  EXPECT_DOUBLE_EQ(recommend_limit({.pod_peak_bytes = 1000 * kMiB, .oom_victim_bytes = 10 * kMiB}).bytes, 1200 * kMiB);
}

TEST(RecommendLimit, RejectsNegativeHeadroom) {
  EXPECT_THROW(recommend_limit({.pod_peak_bytes = 1, .headroom = -0.1}), std::invalid_argument);
}

TEST(RecommendRequest, P90OfBucketPeaksTimesOnePointOneFive) {
  std::vector<double> peaks;
  for (int i = 1; i <= 10; ++i) peaks.push_back(i * 100 * kMiB);
  const auto r = recommend_request(peaks);  // p90 = 900 MiB -> 1035 MiB
  EXPECT_DOUBLE_EQ(r.bytes, 1035 * kMiB);
  EXPECT_EQ(format_quantity(r.bytes), "1035Mi");
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
  const auto r = recommend_celery_max_memory_per_child(
      {.limit_bytes = 1200 * kMiB, .main_rss_bytes = 200 * kMiB, .concurrency = 4, .child_baseline_bytes = 150 * kMiB});
  EXPECT_EQ(r.kib, 256000);
  EXPECT_DOUBLE_EQ(r.bytes, 250 * kMiB);
  EXPECT_FALSE(r.trap);
  EXPECT_LE(4 * r.bytes + 200 * kMiB, 1200 * kMiB);
}

TEST(CeleryMaxMemoryPerChild, TrapWhenAFreshChildIsAlreadyOverTheBudget) {
  // 8 children: 125 MiB each, but a fresh child already holds 150 MiB.
  const auto r = recommend_celery_max_memory_per_child(
      {.limit_bytes = 1200 * kMiB, .main_rss_bytes = 200 * kMiB, .concurrency = 8, .child_baseline_bytes = 150 * kMiB});
  EXPECT_EQ(r.kib, 128000);
  EXPECT_TRUE(r.trap);
  EXPECT_NE(r.trap_reason.find("recycled after its first task"), std::string::npos);
}

TEST(CeleryMaxMemoryPerChild, TrapWhenTheConfiguredValueIsUnderAFreshChild) {
  const auto r = recommend_celery_max_memory_per_child({.limit_bytes = 1200 * kMiB,
                                                        .main_rss_bytes = 200 * kMiB,
                                                        .concurrency = 4,
                                                        .child_baseline_bytes = 150 * kMiB,
                                                        .configured_kib = 102400});
  EXPECT_TRUE(r.trap);
  EXPECT_NE(r.trap_reason.find("102400 KiB"), std::string::npos);
}

TEST(CeleryMaxMemoryPerChild, RejectsZeroConcurrency) {
  EXPECT_THROW(recommend_celery_max_memory_per_child({.limit_bytes = 1, .concurrency = 0}), std::invalid_argument);
}

}  // namespace
}  // namespace ramflow::analysis
