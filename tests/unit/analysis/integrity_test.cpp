#include "analysis/integrity.h"

#include <gtest/gtest.h>

#include <vector>

namespace ramflow::analysis {
namespace {

const ResidualThresholds kDefaults;

TEST(Integrity, SecureStableBloated) {
  EXPECT_EQ(integrity(4.9 * kMiB, LeakLevel::low, kDefaults), Integrity::secure);
  EXPECT_EQ(integrity(5 * kMiB, LeakLevel::low, kDefaults), Integrity::stable);
  EXPECT_EQ(integrity(1 * kMiB, LeakLevel::medium, kDefaults), Integrity::stable);
  EXPECT_EQ(integrity(20 * kMiB, LeakLevel::low, kDefaults), Integrity::bloated);
  EXPECT_EQ(integrity(0, LeakLevel::high, kDefaults), Integrity::bloated);
}

TEST(Integrity, HonoursConfiguredThresholds) {
  const ResidualThresholds t{.medium_bytes = 1 * kMiB, .high_bytes = 2 * kMiB};
  EXPECT_EQ(integrity(1.5 * kMiB, LeakLevel::low, t), Integrity::stable);
  EXPECT_EQ(integrity(2 * kMiB, LeakLevel::low, t), Integrity::bloated);
}

TEST(Integrity, ThresholdValidationSaysWhatToChange) {
  EXPECT_EQ(validate(kDefaults), "");
  EXPECT_NE(validate({.medium_bytes = 30 * kMiB, .high_bytes = 20 * kMiB}).find("RAMFLOW_LEAK_MEDIUM"), std::string::npos);
  EXPECT_NE(validate({.medium_bytes = -1, .high_bytes = 20 * kMiB}), "");
}

TEST(SeedVerdict, FixedResidualThresholdAndShareOfPeak) {
  EXPECT_EQ(seed_verdict(4 * kMiB, 100 * kMiB, kDefaults).level, LeakLevel::low);
  EXPECT_EQ(seed_verdict(19 * kMiB, 100 * kMiB, kDefaults).level, LeakLevel::medium);
  const auto v = seed_verdict(25 * kMiB, 100 * kMiB, kDefaults);
  EXPECT_EQ(v.level, LeakLevel::high);
  EXPECT_DOUBLE_EQ(v.residual_share_of_peak, 0.25);
  EXPECT_DOUBLE_EQ(seed_verdict(-1 * kMiB, 100 * kMiB, kDefaults).residual_share_of_peak, 0);
  EXPECT_DOUBLE_EQ(seed_verdict(1 * kMiB, 0, kDefaults).residual_share_of_peak, 0);
}

TEST(WhatHoldsBloat, MostlyPythonObjects) {
  // 100000 blocks x 64 B = 6.4 MB of 8 MB retained: 80 %.
  const std::vector<TaskDelta> tasks = {{60000, 5e6}, {40000, 3e6}};
  const auto a = what_holds_bloat(tasks);
  EXPECT_DOUBLE_EQ(a.retained_bytes, 8e6);
  EXPECT_DOUBLE_EQ(a.python_object_bytes, 6.4e6);
  EXPECT_DOUBLE_EQ(a.native_bytes, 1.6e6);
  EXPECT_EQ(a.holder, BloatHolder::python_objects);
}

TEST(WhatHoldsBloat, MostlyNativeBuffers) {
  const std::vector<TaskDelta> tasks = {{1000, 8e6}};
  const auto a = what_holds_bloat(tasks);
  EXPECT_DOUBLE_EQ(a.python_object_bytes, 64000);
  EXPECT_EQ(a.holder, BloatHolder::native_buffers);
  EXPECT_NE(a.reason.find("C extensions"), std::string::npos);
}

TEST(WhatHoldsBloat, MixedAndNothingRetained) {
  const std::vector<TaskDelta> half = {{62500, 8e6}};  // 4 MB of 8 MB
  EXPECT_EQ(what_holds_bloat(half).holder, BloatHolder::mixed);
  const std::vector<TaskDelta> freed = {{-500, -1e6}};
  EXPECT_EQ(what_holds_bloat(freed).holder, BloatHolder::none);
  const std::vector<TaskDelta> more_blocks_than_rss = {{1e6, 1e6}};
  EXPECT_DOUBLE_EQ(what_holds_bloat(more_blocks_than_rss).native_bytes, 0);
}

// The demo's search cache: dicts of ~96 B a block read as 64 B give the
// estimate 40 % Python; the capture's traces measured 61 %.
TEST(MeasuredBloat, ACapturesSplitReplacesTheBlockEstimate) {
  const std::vector<TaskDelta> tasks = {{62000, 10e6}};
  const auto estimate = what_holds_bloat(tasks);
  ASSERT_EQ(estimate.holder, BloatHolder::native_buffers);
  const auto split = split_growth(13.48e6, 4.04e6, 5.79e6);
  ASSERT_EQ(split.verdict, GrowthVerdict::python);
  const auto a = measured_bloat(split, "2371-1796474194-1", estimate);
  EXPECT_EQ(a.holder, BloatHolder::python_objects);
  EXPECT_EQ(a.capture_id, "2371-1796474194-1");
  EXPECT_DOUBLE_EQ(a.retained_bytes, split.process_bytes);
  EXPECT_DOUBLE_EQ(a.python_object_bytes + a.native_bytes, a.retained_bytes);
  EXPECT_DOUBLE_EQ(a.native_bytes, split.native_bytes);
  EXPECT_NE(a.reason.find("allocation-site capture 2371-1796474194-1: 61 % of the 9.0 MiB"), std::string::npos) << a.reason;
}

TEST(MeasuredBloat, ANativeWindowSaysNativeAndAWindowWithoutGrowthKeepsTheEstimate) {
  const std::vector<TaskDelta> tasks = {{100000, 8e6}};
  const auto estimate = what_holds_bloat(tasks);
  ASSERT_EQ(estimate.holder, BloatHolder::python_objects);
  const auto native = measured_bloat(split_growth(20e6, 0.2e6, 0.5e6), "c1", estimate);
  EXPECT_EQ(native.holder, BloatHolder::native_buffers);
  EXPECT_NE(native.reason.find("C extensions"), std::string::npos);
  const auto flat = measured_bloat(split_growth(-1e6, 0.1e6, 0), "c2", estimate);
  EXPECT_EQ(flat.holder, estimate.holder);
  EXPECT_TRUE(flat.capture_id.empty());
  EXPECT_EQ(flat.reason, estimate.reason);
}

// Seen with a real Celery child: its leak capture was asked once its burst of
// tasks was over, and the window, ended by the worker's shutdown, grew 9 856 B
// (69 % traced): "python", but about nothing.
TEST(MeasuredBloat, AWindowThatBarelyGrewKeepsTheEstimate) {
  const auto estimate = what_holds_bloat(std::vector<TaskDelta>{{1000, 8e6}});
  const auto idle = split_growth(20480, 10624, 6837);  // the capture's RssAnon, tracemalloc's own, traced
  ASSERT_EQ(idle.verdict, GrowthVerdict::python);
  const auto a = measured_bloat(idle, "1742-1796477959-2", estimate);
  EXPECT_EQ(a.holder, estimate.holder);
  EXPECT_TRUE(a.capture_id.empty());
}

// Whatever the figures, the measured attribution adds up and agrees with the
// capture's own verdict shown beside it in the report.
TEST(MeasuredBloat, AddsUpAndAgreesWithTheCapturesVerdictOverManyWindows) {
  const BloatAttribution estimate = what_holds_bloat(std::vector<TaskDelta>{{1000, 8e6}});
  for (double anon = -4e6; anon <= 64e6; anon += 1.5e6) {
    for (double own = 0; own <= 8e6; own += 2e6) {
      for (double traced = -1e6; traced <= 64e6; traced += 3.5e6) {
        const auto split = split_growth(anon, own, traced);
        const auto a = measured_bloat(split, "c", estimate);
        if (split.verdict == GrowthVerdict::no_growth || split.process_bytes < kMeasuredGrowthMinBytes) {
          EXPECT_EQ(a.holder, estimate.holder);
          EXPECT_TRUE(a.capture_id.empty());
          continue;
        }
        EXPECT_GE(a.python_object_bytes, 0);
        EXPECT_GE(a.native_bytes, 0);
        EXPECT_NEAR(a.python_object_bytes + a.native_bytes, a.retained_bytes, 1e-6);
        EXPECT_EQ(a.holder == BloatHolder::native_buffers, split.verdict == GrowthVerdict::native)
            << anon << " " << own << " " << traced;
      }
    }
  }
}

}  // namespace
}  // namespace ramflow::analysis
