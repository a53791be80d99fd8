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

}  // namespace
}  // namespace ramflow::analysis
