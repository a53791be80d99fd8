#include "analysis/forecast.h"

#include <gtest/gtest.h>

#include <vector>

#include "analysis/units.h"

namespace ramflow::analysis {
namespace {

std::vector<BucketPoint> minima(int n, double start, double per_second) {
  std::vector<BucketPoint> v;
  for (int t = 0; t < n; ++t) v.push_back({double(t), start + per_second * t});
  return v;
}

TEST(TimeToOom, RoomLeftOverTheGrowthRate) {
  // 1 MiB/s of non-reclaimable growth, 90 MiB left: 90 s.
  const auto m = minima(10, 100 * kMiB, kMiB);
  const auto t = time_to_oom(200 * kMiB, 110 * kMiB, m);
  ASSERT_TRUE(t);
  EXPECT_DOUBLE_EQ(t->growth_bytes_per_s, kMiB);
  EXPECT_DOUBLE_EQ(t->seconds, 90);
  EXPECT_GT(t->probability, 0.99);
}

TEST(TimeToOom, ZeroWhenAlreadyAtTheLimit) {
  EXPECT_DOUBLE_EQ(time_to_oom(100 * kMiB, 120 * kMiB, minima(10, 0, kMiB))->seconds, 0);
}

TEST(TimeToOom, AbsentWhenNotGrowing) {
  EXPECT_FALSE(time_to_oom(200 * kMiB, 110 * kMiB, minima(10, 100 * kMiB, 0)));
  EXPECT_FALSE(time_to_oom(200 * kMiB, 110 * kMiB, minima(10, 100 * kMiB, -kMiB)));
  EXPECT_FALSE(time_to_oom(200 * kMiB, 110 * kMiB, minima(4, 100 * kMiB, kMiB)));  // too few buckets
  // Positive slope but not significant: Mann–Kendall probability under 0.95.
  const std::vector<BucketPoint> wobble = {{0, 5}, {1, 1}, {2, 6}, {3, 2}, {4, 7}, {5, 3}};
  EXPECT_FALSE(time_to_oom(100, 10, wobble));
}

}  // namespace
}  // namespace ramflow::analysis
