#include "analysis/bucket_series.h"

#include <gtest/gtest.h>

#include <cmath>
#include <stdexcept>

#include "analysis/units.h"

namespace ramflow::analysis {
namespace {

TEST(BucketSeries, ClosesABucketWithItsMinimumWhenTheNextOneOpens) {
  BucketSeries minima(1.0);
  EXPECT_FALSE(minima.add(0.2, 5));
  EXPECT_FALSE(minima.add(0.7, 3));
  EXPECT_FALSE(minima.add(0.9, 4));
  const auto closed = minima.add(1.1, 9);
  ASSERT_TRUE(closed);
  EXPECT_DOUBLE_EQ(closed->start_s, 0);
  EXPECT_DOUBLE_EQ(closed->bytes, 3);
  ASSERT_EQ(minima.closed().size(), 1u);
}

TEST(BucketSeries, MaximumKeepsTheHighest) {
  BucketSeries maxima(60.0, 10, BucketReduce::maximum);
  maxima.add(0, 5);
  maxima.add(30, 8);
  maxima.add(59, 6);
  EXPECT_DOUBLE_EQ(maxima.add(61, 1)->bytes, 8);
}

TEST(BucketSeries, AnEmptyBucketIsAbsentNotZero) {
  BucketSeries minima(1.0);
  minima.add(0.5, 7);
  const auto closed = minima.add(5.5, 9);  // buckets 1..4 had no sample
  EXPECT_DOUBLE_EQ(closed->start_s, 0);
  minima.add(6.5, 1);
  ASSERT_EQ(minima.closed().size(), 2u);
  EXPECT_DOUBLE_EQ(minima.closed()[1].start_s, 5);
}

TEST(BucketSeries, AClockStepBackCountsInTheOpenBucket) {
  BucketSeries minima(1.0);
  minima.add(10.5, 7);
  EXPECT_FALSE(minima.add(3.0, 2));
  EXPECT_DOUBLE_EQ(minima.add(11.2, 9)->bytes, 2);
}

TEST(BucketSeries, KeepsOnlyCapacityBuckets) {
  BucketSeries minima(1.0, 2);
  for (int t = 0; t < 5; ++t) minima.add(t, t);
  ASSERT_EQ(minima.closed().size(), 2u);
  EXPECT_DOUBLE_EQ(minima.closed().front().start_s, 2);
}

TEST(BucketSeries, RejectsANonPositiveBucket) {
  EXPECT_THROW(BucketSeries(0.0), std::invalid_argument);
  EXPECT_THROW(BucketSeries(-1.0), std::invalid_argument);
  EXPECT_THROW(BucketSeries(1.0, 0), std::invalid_argument);
  EXPECT_THROW(BucketSeries(1.0).add(std::nan(""), 1), std::invalid_argument);
}

TEST(BucketSeries, ABucketIsALeakSampleAtItsStart) {
  const auto s = to_leak_sample({120, 42});
  EXPECT_DOUBLE_EQ(s.x, 120);
  EXPECT_DOUBLE_EQ(s.time_s, 120);
  EXPECT_DOUBLE_EQ(s.bytes, 42);
}

TEST(BucketSeries, AgentlessLeakReachesTheDetectorInBytesPerSecond) {
  // RSS sampled every 0.1 s: 512 KiB/s of growth plus a 50 MiB transient in
  // the middle of every second, which the per-second minimum drops.
  BucketSeries minima(1.0);
  LeakDetector detector;
  for (int i = 0; i < 400; ++i) {
    const double t = i * 0.1;
    const double rss = 100 * kMiB + 512 * kKiB * t + (i % 10 == 5 ? 50 * kMiB : 0);
    if (auto closed = minima.add(t, rss)) detector.add(to_leak_sample(*closed));
  }
  EXPECT_EQ(detector.last().samples, 39u);
  EXPECT_NEAR(detector.last().rate_bytes_per_s, 512 * kKiB, 1);
  EXPECT_EQ(detector.level(), LeakLevel::high);
}

}  // namespace
}  // namespace ramflow::analysis
