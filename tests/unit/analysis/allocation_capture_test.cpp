#include "analysis/allocation_capture.h"

#include <gtest/gtest.h>

#include <limits>

#include "analysis/units.h"

namespace ramflow::analysis {
namespace {

LeakEvaluation leaking(double bytes_per_x) {
  LeakEvaluation e;
  e.evaluated = true;
  e.rate_per_x = bytes_per_x;
  return e;
}

TEST(LeakWindow, ASlowLeakWaitsForEnoughTasksToStandOutOfTheNoise) {
  CaptureDefaults d;  // 20 tasks, 60 s, at most 1000 tasks
  // 8 KiB a task: 128 tasks make the target growth.
  EXPECT_EQ(leak_window(leaking(8 * kKiB), true, d).tasks, 128u);
  EXPECT_EQ(leak_window(leaking(8 * kKiB), true, d).seconds, 60);
}

TEST(LeakWindow, IsNeverShorterThanTheDefaultNorLongerThanTheCap) {
  CaptureDefaults d;
  EXPECT_EQ(leak_window(leaking(10 * kMiB), true, d).tasks, 20u);
  EXPECT_EQ(leak_window(leaking(16), true, d).tasks, 1000u);
  EXPECT_EQ(leak_window(leaking(0), true, d).tasks, 20u);
  EXPECT_EQ(leak_window(leaking(-5), true, d).tasks, 20u);
  EXPECT_EQ(leak_window(leaking(std::numeric_limits<double>::quiet_NaN()), true, d).tasks, 20u);
  d.tasks = 5000;  // a default above the cap wins
  EXPECT_EQ(leak_window(leaking(16), true, d).tasks, 5000u);
}

TEST(LeakWindow, WithoutTaskEndsTheLeaksRatePerSecondSizesTheTime) {
  CaptureDefaults d;
  const auto w = leak_window(leaking(64 * kKiB), false, d);  // 16 s for 1 MiB
  EXPECT_DOUBLE_EQ(w.seconds, 16);
  EXPECT_EQ(w.tasks, 1000u);  // the time ends it
  EXPECT_DOUBLE_EQ(leak_window(leaking(1), false, d).seconds, 60);
  EXPECT_DOUBLE_EQ(leak_window(leaking(100 * kMiB), false, d).seconds, kCaptureMinSeconds);
}

TEST(OomWindow, IsAQuarterOfTheTimeLeftWithinItsBounds) {
  CaptureDefaults d;
  EXPECT_DOUBLE_EQ(oom_window(120, d).seconds, 30);
  EXPECT_DOUBLE_EQ(oom_window(1, d).seconds, kCaptureMinSeconds);
  EXPECT_DOUBLE_EQ(oom_window(0, d).seconds, kCaptureMinSeconds);
  EXPECT_DOUBLE_EQ(oom_window(3600, d).seconds, 60);
  EXPECT_DOUBLE_EQ(oom_window(std::numeric_limits<double>::infinity(), d).seconds, 60);
  EXPECT_EQ(oom_window(120, d).tasks, 1000u);
}

TEST(CaptureDue, OncePerProcessPerPeriod) {
  EXPECT_TRUE(capture_due(std::nullopt, 100, 3600));
  EXPECT_FALSE(capture_due(100.0, 100 + 3599, 3600));
  EXPECT_TRUE(capture_due(100.0, 100 + 3600, 3600));
}

TEST(SplitGrowth, PythonObjectsThatExplainTheGrowthArePython) {
  const auto s = split_growth(1318912, 9952, 1315756);
  EXPECT_EQ(s.verdict, GrowthVerdict::python);
  EXPECT_DOUBLE_EQ(s.process_bytes, 1318912 - 9952);
  EXPECT_DOUBLE_EQ(s.native_bytes, 0);
  ASSERT_TRUE(s.native_share.has_value());
  EXPECT_DOUBLE_EQ(*s.native_share, 0);
}

TEST(SplitGrowth, RssThatGrewWithoutTheTracesIsNativeWithItsShare) {
  // A ctypes malloc leak measured by the agent: 5.1 MiB of RssAnon, 4 KiB traced.
  const auto s = split_growth(5324800, 8000, 3845);
  EXPECT_EQ(s.verdict, GrowthVerdict::native);
  EXPECT_NEAR(*s.native_share, 0.9993, 0.0001);
  EXPECT_DOUBLE_EQ(s.native_bytes, 5324800 - 8000 - 3845);
}

TEST(SplitGrowth, AllocatorWarmUpIsNotANativeLeak) {
  // A clean worker's window: 0.5 MiB of RssAnon, little traced — under kNativeMinBytes.
  const auto s = split_growth(569344, 19232, 17759);
  EXPECT_NE(s.verdict, GrowthVerdict::native);
  EXPECT_GT(*s.native_share, 0.9);  // the share is still said
}

TEST(SplitGrowth, NoGrowthHasNoShare) {
  const auto s = split_growth(-4096, 2048, -100);
  EXPECT_EQ(s.verdict, GrowthVerdict::no_growth);
  EXPECT_FALSE(s.native_share.has_value());
  EXPECT_DOUBLE_EQ(s.native_bytes, 0);
}

TEST(CaptureReason, NamesRoundTrip) {
  for (auto r : {CaptureReason::on_demand, CaptureReason::leak_high, CaptureReason::oom_near}) {
    EXPECT_EQ(capture_reason_from_string(to_string(r)), r);
  }
  EXPECT_FALSE(capture_reason_from_string("manual").has_value());
}

}  // namespace
}  // namespace ramflow::analysis
