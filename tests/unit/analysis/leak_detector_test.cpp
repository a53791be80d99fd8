#include "analysis/leak_detector.h"

#include <gtest/gtest.h>

#include <random>

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <vector>

#include "analysis/units.h"

namespace ramflow::analysis {
namespace {

// One task every 2 s, residual = f(task).
template <typename F>
std::vector<LeakSample> tasks(int n, F residual, double seconds_per_task = 2) {
  std::vector<LeakSample> s;
  for (int i = 0; i < n; ++i) s.push_back({double(i), i * seconds_per_task, residual(i)});
  return s;
}

TEST(LeakWindow, NoVerdictBelowTenSamples) {
  const auto s = tasks(9, [](int i) { return i * kMiB; });
  const auto e = evaluate_leak_window(s, LeakConfig{});
  EXPECT_FALSE(e.evaluated);
  EXPECT_EQ(e.raw_level, LeakLevel::low);
}

TEST(LeakWindow, StaircaseOfTenTasksIsHigh) {
  // S = 45, var = 10*9*25/18 = 125, z = 44/sqrt(125) = 3.9355 -> probability 0.99996.
  // Each half of 5: S = 10, var = 16.67, z = 2.2045 -> 0.986 >= 0.90. Scatter 0,
  // so the noise is the 1 MiB floor: growth 9 MiB >= 3 MiB, each half 4 MiB >= 2 MiB.
  const auto s = tasks(10, [](int i) { return i * kMiB; });
  const auto e = evaluate_leak_window(s, LeakConfig{});
  ASSERT_TRUE(e.evaluated);
  EXPECT_NEAR(e.trend_probability, 0.9999584846, 1e-9);
  EXPECT_GE(e.probability, 0.85);  // the HIGH band
  EXPECT_DOUBLE_EQ(e.rate_per_x, kMiB);
  EXPECT_DOUBLE_EQ(e.rate_bytes_per_s, kMiB / 2);
  EXPECT_DOUBLE_EQ(e.noise_bytes, kMiB);
  EXPECT_NEAR(e.step_share, 3.0 / 9.0, 1e-12);  // three largest of nine equal rises
  EXPECT_EQ(e.raw_level, LeakLevel::high);
}

TEST(LeakWindow, SmoothSubMiBCreepOfAQuietProcessIsLow) {
  // 0.8 MiB over 60 tasks, perfectly regular (allocator warm-up): probability
  // 1, but growth over the window is below 2 x the 1 MiB noise floor.
  const auto s = tasks(60, [](int i) { return i * (0.8 * kMiB / 59); });
  const auto e = evaluate_leak_window(s, LeakConfig{});
  EXPECT_GT(e.trend_probability, 0.99);
  EXPECT_LT(e.probability, 0.35);  // "it grows" with certainty, "it leaks" not: never 100 % beside LOW
  EXPECT_DOUBLE_EQ(e.noise_bytes, kMiB);
  EXPECT_EQ(e.raw_level, LeakLevel::low);
}

TEST(LeakWindow, FlatSeriesIsLow) {
  const auto s = tasks(50, [](int) { return 3 * kMiB; });
  const auto e = evaluate_leak_window(s, LeakConfig{});
  EXPECT_DOUBLE_EQ(e.trend_probability, 0);  // all ties: p = 1
  EXPECT_DOUBLE_EQ(e.probability, 0);
  EXPECT_EQ(e.raw_level, LeakLevel::low);
}

TEST(LeakWindow, OneStepIsNotALeak) {
  // The recent half is flat: its Theil–Sen slope is 0, so not even medium.
  const auto s = tasks(20, [](int i) { return i >= 10 ? 8 * kMiB : 0.0; });
  const auto e = evaluate_leak_window(s, LeakConfig{});
  EXPECT_GT(e.trend_probability, 0.99);
  EXPECT_LT(e.probability, 0.35);
  EXPECT_EQ(e.raw_level, LeakLevel::low);
}

TEST(LeakWindow, GrowthCarriedByThreeJumpsIsNotHigh) {
  // Three 8 MiB steps, one every 10 tasks: both halves grow, but the three
  // jumps carry the whole rise (fragmentation), so the step check caps it.
  const auto s = tasks(40, [](int i) { return 8 * kMiB * ((i >= 10) + (i >= 20) + (i >= 30)); });
  const auto e = evaluate_leak_window(s, LeakConfig{});
  EXPECT_GE(e.step_share, 0.6);
  EXPECT_EQ(e.raw_level, LeakLevel::medium);
  LeakConfig design_rule;
  design_rule.step_share = 1e300;
  EXPECT_EQ(evaluate_leak_window(s, design_rule).raw_level, LeakLevel::high);
}

TEST(LeakWindow, SlowGrowthIsHighOnlyWhenItMattersWithinTheRestartHorizon) {
  // 1 KiB per task, one task per hour: 24 KiB over 24 h, far under 20 MiB.
  // (The noise floor is off here: this test is about the horizon condition.)
  const auto s = tasks(20, [](int i) { return i * kKiB; }, 3600);
  LeakConfig config;
  config.noise_floor_bytes = 0;
  const auto e = evaluate_leak_window(s, config);
  EXPECT_EQ(e.raw_level, LeakLevel::medium);
  // ... unless only 10 KiB are left before the limit.
  EXPECT_EQ(evaluate_leak_window(s, config, 10 * kKiB).raw_level, LeakLevel::high);
}

TEST(Hysteresis, RisesAtOnce) {
  LeakDetectorState s;
  EXPECT_EQ(apply_hysteresis(s, LeakLevel::high, 3), LeakLevel::high);
}

TEST(Hysteresis, DropsAfterThreeFailuresInARow) {
  LeakDetectorState s;
  apply_hysteresis(s, LeakLevel::high, 3);
  EXPECT_EQ(apply_hysteresis(s, LeakLevel::low, 3), LeakLevel::high);
  EXPECT_EQ(apply_hysteresis(s, LeakLevel::low, 3), LeakLevel::high);
  EXPECT_EQ(apply_hysteresis(s, LeakLevel::low, 3), LeakLevel::low);
}

TEST(Hysteresis, ASuccessResetsTheCount) {
  LeakDetectorState s;
  apply_hysteresis(s, LeakLevel::high, 3);
  for (auto raw : {LeakLevel::low, LeakLevel::low, LeakLevel::high, LeakLevel::low, LeakLevel::low}) {
    EXPECT_EQ(apply_hysteresis(s, raw, 3), LeakLevel::high);
  }
  EXPECT_EQ(apply_hysteresis(s, LeakLevel::low, 3), LeakLevel::low);
}

TEST(Hysteresis, DropsOnlyAsFarAsTheLevelsThatFailed) {
  LeakDetectorState s;
  apply_hysteresis(s, LeakLevel::high, 3);
  // high failed 3 times; medium's condition held at the second evaluation.
  EXPECT_EQ(apply_hysteresis(s, LeakLevel::low, 3), LeakLevel::high);
  EXPECT_EQ(apply_hysteresis(s, LeakLevel::medium, 3), LeakLevel::high);
  EXPECT_EQ(apply_hysteresis(s, LeakLevel::low, 3), LeakLevel::medium);
  EXPECT_EQ(apply_hysteresis(s, LeakLevel::low, 3), LeakLevel::medium);
  EXPECT_EQ(apply_hysteresis(s, LeakLevel::low, 3), LeakLevel::low);
}

TEST(LeakDetector, KeepsTheLastWindowSamples) {
  LeakDetector d;
  for (const auto& s : tasks(150, [](int) { return 0.0; })) d.add(s);
  EXPECT_EQ(d.state().window.size(), 100u);
  EXPECT_DOUBLE_EQ(d.state().window.front().x, 50);
}

TEST(LeakDetector, StaircaseThenFlatFallsBackToLowAfterTheWindowClears) {
  LeakDetector d;
  auto s = tasks(240, [](int i) { return std::min(i, 40) * kMiB; });
  for (int i = 0; i < 40; ++i) d.add(s[i]);
  EXPECT_EQ(d.level(), LeakLevel::high);
  for (int i = 40; i < 240; ++i) d.add(s[i]);
  EXPECT_EQ(d.level(), LeakLevel::low);
}

TEST(LeakDetector, RejectsBadConfigAndBadSamples) {
  EXPECT_THROW(LeakDetector(LeakConfig{.window = 5}), std::invalid_argument);
  EXPECT_THROW(LeakDetector(LeakConfig{.hysteresis_evaluations = 0}), std::invalid_argument);
  LeakDetector d;
  d.add({1, 2, 0});
  EXPECT_THROW(d.add({1, 4, 0}), std::invalid_argument);  // same x again
  EXPECT_THROW(d.add({2, 4, std::nan("")}), std::invalid_argument);
  EXPECT_EQ(d.state().window.size(), 1u);
}

TEST(LeakLevelNames, RoundTrip) {
  for (auto l : {LeakLevel::low, LeakLevel::medium, LeakLevel::high}) EXPECT_EQ(leak_level_from_string(to_string(l)), l);
  EXPECT_FALSE(leak_level_from_string("severe"));
}


// The probability always sits in its level's band, over many random windows
// and after hysteresis (DESIGN.md "leak probability").
TEST(LeakProbability, AlwaysAgreesWithTheLevel) {
  std::mt19937 rng(11);
  std::normal_distribution<double> noise(0, 1);
  std::uniform_real_distribution<double> rate(-0.5, 3), scale(0.1, 8);
  for (int run = 0; run < 300; ++run) {
    LeakDetector d;
    const double r = rate(rng) * kMiB, sigma = scale(rng) * kMiB;
    for (int i = 0; i < 150; ++i) {
      const auto& e = d.add({double(i), 2.0 * i, r * std::max(0, i - 40) + sigma * noise(rng)});
      if (!e.evaluated) continue;
      if (e.level == LeakLevel::low) EXPECT_LT(e.probability, thresholds::kLeakProbabilityMedium);
      if (e.level == LeakLevel::medium) {
        EXPECT_GE(e.probability, thresholds::kLeakProbabilityMedium);
        EXPECT_LT(e.probability, thresholds::kLeakProbabilityHigh);
      }
      if (e.level == LeakLevel::high) EXPECT_GE(e.probability, thresholds::kLeakProbabilityHigh);
      EXPECT_LE(e.probability, 1.0);
    }
  }
}

}  // namespace
}  // namespace ramflow::analysis
