#include "analysis/cow_drift.h"

#include <gtest/gtest.h>

#include <vector>

#include "analysis/units.h"

namespace ramflow::analysis {
namespace {

TEST(CowDrift, SharedPagesTurningPrivateFastGiveTheFreezeHint) {
  // Shared = RSS - USS: 180, 150, 120 MiB a minute apart: 0.5 MiB/s.
  const std::vector<CowSample> s = {{0, 200 * kMiB, 20 * kMiB}, {60, 200 * kMiB, 50 * kMiB}, {120, 200 * kMiB, 80 * kMiB}};
  const auto d = cow_drift(s);
  ASSERT_TRUE(d);
  EXPECT_DOUBLE_EQ(d->bytes_per_second, 0.5 * kMiB);
  EXPECT_DOUBLE_EQ(d->shared_at_start_bytes, 180 * kMiB);
  EXPECT_TRUE(d->high);
  EXPECT_NE(d->hint.find("gc.freeze()"), std::string::npos);
}

TEST(CowDrift, SlowDriftIsNotHigh) {
  // 0.1 MiB a minute = 6 MiB/h, under 25 % of 180 MiB.
  const std::vector<CowSample> s = {{0, 200 * kMiB, 20 * kMiB}, {60, 200 * kMiB, 20.1 * kMiB}, {120, 200 * kMiB, 20.2 * kMiB}};
  const auto d = cow_drift(s);
  ASSERT_TRUE(d);
  EXPECT_NEAR(d->bytes_per_second, 0.1 * kMiB / 60, 1e-6);
  EXPECT_FALSE(d->high);
  EXPECT_TRUE(d->hint.empty());
}

TEST(CowDrift, GrowingSharedIsZeroDriftAndTooFewSamplesIsAbsent) {
  const std::vector<CowSample> s = {{0, 200, 100}, {1, 220, 100}, {2, 240, 100}};
  EXPECT_DOUBLE_EQ(cow_drift(s)->bytes_per_second, 0);
  EXPECT_FALSE(cow_drift(std::span(s).first(2)));
}

}  // namespace
}  // namespace ramflow::analysis
