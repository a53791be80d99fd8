#include "analysis/allocation_speed.h"

#include <gtest/gtest.h>

#include <stdexcept>

namespace ramflow::analysis {
namespace {

TEST(AllocationSpeed, SumsRisesOverTheWindowIgnoringFalls) {
  AllocationSpeed speed(30);
  EXPECT_DOUBLE_EQ(speed.bytes_per_second(), 0);
  speed.add(0, 100);
  speed.add(1, 200);
  speed.add(2, 150);
  speed.add(3, 450);
  EXPECT_DOUBLE_EQ(speed.bytes_per_second(), 400.0 / 3.0);  // (+100 +300) over 3 s
}

TEST(AllocationSpeed, ForgetsSamplesOlderThanTheWindow) {
  AllocationSpeed speed(2);
  speed.add(0, 100);
  speed.add(1, 200);
  speed.add(2, 150);
  speed.add(3, 450);  // keeps t = 1, 2, 3
  EXPECT_DOUBLE_EQ(speed.bytes_per_second(), 150);
}

TEST(AllocationSpeed, BoundedByMaxSamples) {
  AllocationSpeed speed(1000, 2);
  speed.add(0, 0);
  speed.add(1, 1000);
  speed.add(2, 1000);  // keeps t = 1, 2
  EXPECT_DOUBLE_EQ(speed.bytes_per_second(), 0);
}

TEST(AllocationSpeed, RejectsAnEmptyWindow) {
  EXPECT_THROW(AllocationSpeed(0), std::invalid_argument);
  EXPECT_THROW(AllocationSpeed(10, 1), std::invalid_argument);
}

TEST(CallAllocationSpeed, GrossGrowthOverDuration) {
  EXPECT_DOUBLE_EQ(call_allocation_speed(50 * kMiB, 0.5), 100 * kMiB);
  EXPECT_DOUBLE_EQ(call_allocation_speed(50 * kMiB, 0), 0);
  EXPECT_DOUBLE_EQ(call_allocation_speed(-5, 1), 0);
}

TEST(Greedy, AtOrAboveOneHundredMiBPerSecond) {
  EXPECT_TRUE(is_greedy(100 * kMiB));
  EXPECT_FALSE(is_greedy(99 * kMiB));
  EXPECT_TRUE(is_greedy(10 * kMiB, 5 * kMiB));
}

}  // namespace
}  // namespace ramflow::analysis
