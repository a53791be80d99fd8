#include "analysis/state.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <stdexcept>

#include "analysis/units.h"

namespace ramflow::analysis {
namespace {

AnalysisState sample_state() {
  AnalysisState s;
  ProcessState main;
  main.baseline = {.bootstrap_bytes = 10 * kMiB, .ready_rss_bytes = 100 * kMiB, .ready_hwm_bytes = 120 * kMiB,
                   .vm_hwm_bytes = 150 * kMiB, .max_sampled_rss_since_ready = 140 * kMiB};
  LeakDetector detector;
  for (int i = 0; i < 30; ++i) detector.add({double(i), 2.0 * i, i * kMiB});
  main.leak = detector.state();
  s.processes["celery@host/0"] = main;
  ProcessState standalone;  // no agent: bucket minima, unknown bootstrap
  BucketSeries minima(1.0);
  for (int t = 0; t < 5; ++t) minima.add(t + 0.5, 1000.0 + t);
  standalone.rss_minima = minima.state();
  s.processes["pid:42"] = standalone;
  s.nonreclaimable_minima = minima.state();
  record_oom(s, {.time_s = 1700000000, .pid = 77, .task = "tasks.resize", .bytes = 900 * kMiB});
  return s;
}

TEST(State, RoundTripsThroughJsonText) {
  const auto original = sample_state();
  const auto text = to_json(original).dump();
  const auto restored = analysis_state_from_json(nlohmann::json::parse(text));
  EXPECT_EQ(to_json(restored), to_json(original));
  EXPECT_FALSE(restored.processes.at("pid:42").baseline.bootstrap_bytes);
  EXPECT_EQ(restored.processes.at("celery@host/0").leak.level, LeakLevel::high);
  EXPECT_EQ(restored.oom_history.front().task, "tasks.resize");
}

TEST(State, ARestoredDetectorContinuesWhereTheOldOneStopped) {
  LeakDetector before;
  for (int i = 0; i < 30; ++i) before.add({double(i), 2.0 * i, (i % 3) * kMiB});
  AnalysisState s;
  s.processes["w"].leak = before.state();
  LeakDetector after(LeakConfig{}, analysis_state_from_json(to_json(s)).processes.at("w").leak);
  for (int i = 30; i < 60; ++i) {
    const LeakSample next{double(i), 2.0 * i, i * 0.5 * kMiB};
    EXPECT_EQ(before.add(next).level, after.add(next).level);
    EXPECT_DOUBLE_EQ(before.last().probability, after.last().probability);
  }
}

TEST(State, OomHistoryIsBounded) {
  AnalysisState s;
  for (int i = 0; i < 100; ++i) record_oom(s, {.time_s = double(i), .pid = i, .task = "unknown", .bytes = 1});
  EXPECT_EQ(s.oom_history.size(), kMaxOomHistory);
  EXPECT_EQ(s.oom_history.front().pid, 100 - static_cast<int>(kMaxOomHistory));
}

TEST(State, BadFieldIsNamedWithWhatToDo) {
  auto j = to_json(sample_state());
  j["processes"]["celery@host/0"]["leak"]["window"][3]["bytes"] = "lots";
  try {
    analysis_state_from_json(j);
    FAIL() << "accepted a string as bytes";
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(),
                 "ramflow state: processes.celery@host/0.leak.window[3].bytes: not a number — delete the state file "
                 "to start fresh");
  }
}

TEST(State, RejectsOtherVersionsUnknownLevelsAndOversizedSeries) {
  auto j = to_json(sample_state());
  j["version"] = 99;
  EXPECT_THROW(analysis_state_from_json(j), std::invalid_argument);
  j = to_json(sample_state());
  j["processes"]["celery@host/0"]["leak"]["level"] = "severe";
  EXPECT_THROW(analysis_state_from_json(j), std::invalid_argument);
  j = to_json(sample_state());
  j["working_set_maxima"]["closed"] = nlohmann::json::array();
  for (size_t i = 0; i <= kMaxStateSeriesPoints; ++i) j["working_set_maxima"]["closed"].push_back({{"start_s", 0}, {"bytes", 0}});
  EXPECT_THROW(analysis_state_from_json(j), std::invalid_argument);
  EXPECT_THROW(analysis_state_from_json(nlohmann::json::array()), std::invalid_argument);
}

}  // namespace
}  // namespace ramflow::analysis
