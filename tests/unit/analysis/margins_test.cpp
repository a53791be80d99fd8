#include "analysis/margins.h"

#include <gtest/gtest.h>

namespace ramflow::analysis {
namespace {

TEST(WorkingSet, UsageMinusInactiveFileClampedAtZero) {
  EXPECT_DOUBLE_EQ(working_set_bytes(1000, 300), 700);
  EXPECT_DOUBLE_EQ(working_set_bytes(100, 150), 0);
}

TEST(NonReclaimable, AnonShmemUnevictable) { EXPECT_DOUBLE_EQ(nonreclaimable_bytes(700, 50, 10), 760); }

TEST(Margins, AgainstTheCgroupLimit) {
  const auto m = margins({.cgroup_limit_bytes = 1000, .working_set_bytes = 900, .nonreclaimable_bytes = 950});
  EXPECT_EQ(m.source, LimitSource::cgroup);
  EXPECT_DOUBLE_EQ(m.limit_bytes, 1000);
  EXPECT_DOUBLE_EQ(m.safety, 0.1);
  EXPECT_DOUBLE_EQ(m.nonreclaimable, 0.05);
}

TEST(Margins, ClampedAtZeroOverTheLimit) {
  const auto m = margins({.cgroup_limit_bytes = 1000, .working_set_bytes = 1200, .nonreclaimable_bytes = 1100});
  EXPECT_DOUBLE_EQ(m.safety, 0);
  EXPECT_DOUBLE_EQ(m.nonreclaimable, 0);
  EXPECT_DOUBLE_EQ(margins({.cgroup_limit_bytes = 0}).safety, 0);
}

TEST(Margins, HostFallbackIsMemAvailableOverMemTotal) {
  const auto m = margins({.cgroup_limit_bytes = std::nullopt, .working_set_bytes = 900, .nonreclaimable_bytes = 950,
                          .mem_total_bytes = 1000, .mem_available_bytes = 250});
  EXPECT_EQ(m.source, LimitSource::host);
  EXPECT_DOUBLE_EQ(m.limit_bytes, 1000);
  EXPECT_DOUBLE_EQ(m.safety, 0.25);
  EXPECT_DOUBLE_EQ(m.nonreclaimable, 0.25);
  EXPECT_EQ(to_string(m.source), "host");
}

TEST(OomRisk, LowNonReclaimableMarginIsARisk) {
  const auto r = oom_risk({.limit_bytes = 1000, .safety = 0.05, .nonreclaimable = 0.05}, std::nullopt);
  EXPECT_TRUE(r.at_risk);
  EXPECT_NE(r.reason.find("cannot reclaim"), std::string::npos);
}

TEST(OomRisk, PageCacheAloneNeverRaisesIt) {
  // Working set near the limit, non-reclaimable far from it, no pressure.
  const auto r = oom_risk({.limit_bytes = 1000, .safety = 0.02, .nonreclaimable = 0.60}, Pressure{0.05, 0.0});
  EXPECT_FALSE(r.at_risk);
  EXPECT_FALSE(r.real_pressure);
  EXPECT_NE(r.reason.find("page cache"), std::string::npos);
}

TEST(OomRisk, LowWorkingSetMarginWithRealPressureIsARisk) {
  EXPECT_TRUE(oom_risk({.limit_bytes = 1000, .safety = 0.02, .nonreclaimable = 0.60}, Pressure{0.0, 0.10}).at_risk);
  EXPECT_TRUE(oom_risk({.limit_bytes = 1000, .safety = 0.02, .nonreclaimable = 0.60}, Pressure{0.40, 0.0}).at_risk);
  // Pressure with a comfortable margin is a leading signal, not yet a risk.
  const auto r = oom_risk({.limit_bytes = 1000, .safety = 0.50, .nonreclaimable = 0.60}, Pressure{0.9, 0.5});
  EXPECT_FALSE(r.at_risk);
  EXPECT_TRUE(r.real_pressure);
}

TEST(Footprint, TheLargerOfTheLargestVmHwmAndTheSampledNonReclaimablePeak) {
  const auto one_process = group_footprint(500, 400);
  EXPECT_DOUBLE_EQ(one_process.bytes, 500);
  EXPECT_EQ(one_process.source, "vmhwm");
  const auto several = group_footprint(300, 700);  // four children at once
  EXPECT_DOUBLE_EQ(several.bytes, 700);
  EXPECT_EQ(several.source, "sampled_nonreclaimable");
}

TEST(MarginVerdict, CriticalUnderTheOomRiskMarginTightUnderAQuarterElseHealthy) {
  auto verdict = [](double nonreclaimable, double margin_threshold = 0.10) {
    Margins m{100, LimitSource::cgroup, nonreclaimable, nonreclaimable};
    OomRiskConfig c;
    c.margin_threshold = margin_threshold;
    return margin_verdict(m, oom_risk(m, std::nullopt, c), c);
  };
  EXPECT_EQ(verdict(0.05), MarginVerdict::critical);
  EXPECT_EQ(verdict(0.20), MarginVerdict::tight);
  EXPECT_EQ(verdict(0.30), MarginVerdict::healthy);
  // --oom-risk-margin 0.2 makes 15 % critical, not only tight.
  EXPECT_EQ(verdict(0.15, 0.20), MarginVerdict::critical);
  EXPECT_EQ(to_string(MarginVerdict::tight), "tight");
}

TEST(MarginVerdict, PageCacheAloneStaysHealthy) {
  // Working set at 97 % of the limit, non-reclaimable at 40 %, no pressure.
  Margins m{100, LimitSource::cgroup, 0.03, 0.60};
  EXPECT_EQ(margin_verdict(m, oom_risk(m, Pressure{0.01, 0})), MarginVerdict::healthy);
}

TEST(FootprintVerdict, NearTheLimitAtNinetyPercent) {
  EXPECT_EQ(footprint_verdict(89, 100), FootprintVerdict::fits);
  EXPECT_EQ(footprint_verdict(90, 100), FootprintVerdict::near_limit);
  EXPECT_EQ(footprint_verdict(90, 0), FootprintVerdict::fits);
}

}  // namespace
}  // namespace ramflow::analysis
