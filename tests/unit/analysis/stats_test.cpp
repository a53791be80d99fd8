#include "analysis/stats.h"

#include <gtest/gtest.h>

#include <cmath>

#include <vector>

namespace ramflow::analysis {
namespace {

TEST(MannKendall, TiesAreCorrectedByHand) {
  // y = 1 2 2 4 3. Signs of y[j]-y[i], i<j:
  //   from 1: + + + + (4); from 2: 0 + + (2); from 2: + + (2); from 4: - (-1)  => S = 7
  // One tie group of t=2: t(t-1)(2t+5) = 18.
  // var = (5*4*15 - 18) / 18 = 282/18 = 15.6667; z = (7-1)/sqrt(15.6667) = 1.515873
  // p = 1 - Phi(1.515873) = 0.064776; probability = 0.935224
  const std::vector<double> y = {1, 2, 2, 4, 3};
  const auto mk = mann_kendall(y);
  EXPECT_DOUBLE_EQ(mk.s, 7);
  EXPECT_DOUBLE_EQ(mk.variance, 282.0 / 18.0);
  EXPECT_NEAR(mk.z, 1.5158734579, 1e-9);
  EXPECT_NEAR(mk.p_value, 0.0647756765, 1e-9);
  EXPECT_NEAR(mk.probability, 0.9352243235, 1e-9);
}

TEST(MannKendall, DecreasingSeriesUsesThePlusOneCorrection) {
  // y = 3 2 1: S = -3, var = 3*2*11/18 = 11/3, z = (-3+1)/sqrt(11/3) = -1.044466
  const std::vector<double> y = {3, 2, 1};
  const auto mk = mann_kendall(y);
  EXPECT_DOUBLE_EQ(mk.s, -3);
  EXPECT_NEAR(mk.z, -2 / std::sqrt(11.0 / 3.0), 1e-12);
  EXPECT_GT(mk.p_value, 0.5);
}

TEST(MannKendall, AllTiesGiveNoEvidence) {
  const std::vector<double> y(12, 5.0);
  const auto mk = mann_kendall(y);
  EXPECT_DOUBLE_EQ(mk.s, 0);
  EXPECT_DOUBLE_EQ(mk.variance, 0);
  EXPECT_DOUBLE_EQ(mk.p_value, 1);
  EXPECT_DOUBLE_EQ(mk.probability, 0);
}

TEST(MannKendall, ZeroSGivesZeroZ) {
  const std::vector<double> y = {1, 3, 2, 2.5};
  // pairs: (1,3)+ (1,2)+ (1,2.5)+ (3,2)- (3,2.5)- (2,2.5)+  => S = 2
  const auto mk = mann_kendall(y);
  EXPECT_DOUBLE_EQ(mk.s, 2);
  const std::vector<double> flat = {1, 2, 2, 1};  // + + 0 | 0 - | -  => S = 0
  EXPECT_DOUBLE_EQ(mann_kendall(flat).z, 0);
  EXPECT_DOUBLE_EQ(mann_kendall(flat).probability, 0.5);
}

TEST(TheilSen, OddNumberOfPairsTakesTheMiddleSlope) {
  // slopes: (1-0)/1 = 1, (4-0)/2 = 2, (4-1)/1 = 3 -> median 2; intercept median(0, -1, 0) = 0
  const std::vector<double> x = {0, 1, 2}, y = {0, 1, 4};
  const auto fit = theil_sen(x, y);
  ASSERT_TRUE(fit);
  EXPECT_DOUBLE_EQ(fit->slope, 2);
  EXPECT_DOUBLE_EQ(fit->intercept, 0);
}

TEST(TheilSen, EvenNumberOfPairsAveragesTheTwoMiddleSlopes) {
  // slopes: 2, 1, 3, 0, 3.5, 7 -> sorted 0 1 2 3 3.5 7 -> (2+3)/2 = 2.5
  // y - 2.5x = 0, -0.5, -3, 1.5 -> median (-0.5 + 0)/2 = -0.25
  const std::vector<double> x = {0, 1, 2, 3}, y = {0, 2, 2, 9};
  const auto fit = theil_sen(x, y);
  ASSERT_TRUE(fit);
  EXPECT_DOUBLE_EQ(fit->slope, 2.5);
  EXPECT_DOUBLE_EQ(fit->intercept, -0.25);
}

TEST(TheilSen, PairsWithEqualXAreSkipped) {
  // (0,1) skipped; slopes 2 and -3 -> -0.5
  const std::vector<double> x = {1, 1, 2}, y = {0, 5, 2};
  EXPECT_DOUBLE_EQ(theil_sen(x, y)->slope, -0.5);
  const std::vector<double> same = {4, 4};
  EXPECT_FALSE(theil_sen(same, same));
}

TEST(Median, OddEvenAndEmpty) {
  EXPECT_DOUBLE_EQ(median({3, 1, 2}), 2);
  EXPECT_DOUBLE_EQ(median({4, 1, 3, 2}), 2.5);
  EXPECT_DOUBLE_EQ(median({}), 0);
}

TEST(MadSigma, ScalesTheMedianAbsoluteDeviation) {
  // median 3; |deviations| 2 1 0 1 97 -> median 1 -> 1.4826
  const std::vector<double> v = {1, 2, 3, 4, 100};
  EXPECT_DOUBLE_EQ(mad_sigma(v), 1.4826);
}

TEST(Percentile, NearestRank) {
  // The classic nearest-rank example: 15 20 35 40 50.
  const std::vector<double> v = {50, 15, 40, 20, 35};
  EXPECT_DOUBLE_EQ(percentile(v, 0.0), 15);
  EXPECT_DOUBLE_EQ(percentile(v, 0.05), 15);
  EXPECT_DOUBLE_EQ(percentile(v, 0.30), 20);
  EXPECT_DOUBLE_EQ(percentile(v, 0.40), 20);
  EXPECT_DOUBLE_EQ(percentile(v, 0.50), 35);
  EXPECT_DOUBLE_EQ(percentile(v, 1.0), 50);
  const std::vector<double> ten = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
  EXPECT_DOUBLE_EQ(percentile(ten, 0.90), 9);
  EXPECT_DOUBLE_EQ(percentile({}, 0.9), 0);
}

}  // namespace
}  // namespace ramflow::analysis
