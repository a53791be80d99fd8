#include "analysis/state.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <stdexcept>

#include "analysis/units.h"

namespace ramflow::analysis {
namespace {

AnalysisState sample_state() {
  AnalysisState s;
  ProcessState worker;
  worker.pid = 4242;
  worker.start_ticks = 987654;
  worker.leak_series = "residual";
  LeakDetector detector;
  for (int i = 0; i < 30; ++i) detector.add({double(i), 1700000000.25 + 2.0 * i, i * kMiB});
  worker.leak = detector.state();
  worker.next_x = 30;
  worker.ready_time = 1699999990.5;
  worker.max_rss_since_ready = 180 * kMiB;
  s.processes.push_back(worker);
  ProcessState standalone;
  standalone.pid = 42;
  standalone.start_ticks = 7;
  standalone.leak_series = "rss_bucket_minimum";
  BucketSeries minima(60.0);
  for (int t = 0; t < 5; ++t) minima.add(60.0 * t + 0.5, 1000.0 + t);
  standalone.rss_minima = minima.state();
  s.processes.push_back(standalone);
  s.cgroups["/kubepods/pod1/worker"] = {{minima.state(), minima.state(), minima.state(), minima.state()}, minima.state()};
  return s;
}

TEST(State, RoundTripsThroughJsonText) {
  const auto original = sample_state();
  const auto text = to_json(original).dump();
  const auto restored = analysis_state_from_json(nlohmann::json::parse(text));
  EXPECT_EQ(to_json(restored), to_json(original));
  ASSERT_EQ(restored.processes.size(), 2u);
  EXPECT_EQ(restored.processes[0].pid, 4242);
  EXPECT_EQ(restored.processes[0].start_ticks, 987654u);
  EXPECT_EQ(restored.processes[0].leak.level, LeakLevel::high);
  EXPECT_DOUBLE_EQ(restored.processes[0].leak.window.back().time_s, 1700000000.25 + 58);
  EXPECT_DOUBLE_EQ(restored.processes[0].ready_time, 1699999990.5);
  EXPECT_EQ(restored.processes[1].rss_minima.closed.size(), 4u);
  EXPECT_DOUBLE_EQ(restored.cgroups.at("/kubepods/pod1/worker").nonreclaimable_maxima.open->bytes, 1004.0);
}

TEST(State, WholeBytesAndBucketStartsAreWrittenAsIntegers) {
  const auto j = to_json(sample_state());
  const auto& point = j["cgroups"]["/kubepods/pod1/worker"]["nonreclaimable_maxima"]["closed"][0];
  EXPECT_TRUE(point[0].is_number_integer());
  EXPECT_TRUE(point[1].is_number_integer());
  EXPECT_TRUE(j["processes"][0]["leak"]["window"][0][1].is_number_float());  // times keep their fraction
}

TEST(State, ARestoredDetectorShowsItsEvaluationAtOnceAndContinuesWhereTheOldOneStopped) {
  LeakDetector before;
  for (int i = 0; i < 30; ++i) before.add({double(i), 2.0 * i, (i % 3) * kMiB + i * 0.2 * kMiB});
  AnalysisState s;
  ProcessState p;
  p.pid = 1;
  p.leak = before.state();
  s.processes.push_back(p);
  LeakDetector after(LeakConfig{}, analysis_state_from_json(to_json(s)).processes[0].leak);
  EXPECT_TRUE(after.last().evaluated);
  EXPECT_EQ(after.last().level, before.last().level);
  EXPECT_DOUBLE_EQ(after.last().probability, before.last().probability);
  for (int i = 30; i < 60; ++i) {
    const LeakSample next{double(i), 2.0 * i, i * 0.5 * kMiB};
    EXPECT_EQ(before.add(next).level, after.add(next).level);
    EXPECT_DOUBLE_EQ(before.last().probability, after.last().probability);
  }
}

TEST(State, BadFieldIsNamedWithWhatToDo) {
  auto j = to_json(sample_state());
  j["processes"][0]["leak"]["window"][3][2] = "lots";
  try {
    analysis_state_from_json(j);
    FAIL() << "accepted a string as bytes";
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(),
                 "ramflow state: processes[0].leak.window[3]: not [x, time_s, bytes] numbers — delete the state "
                 "file to start fresh");
  }
}

TEST(State, RejectsOtherVersionsUnknownValuesDisorderAndOversizedSeries) {
  auto reject = [](const nlohmann::json& j) { EXPECT_THROW(analysis_state_from_json(j), std::invalid_argument) << j.dump().substr(0, 200); };
  auto j = to_json(sample_state());
  j["version"] = 1;
  reject(j);
  j = to_json(sample_state());
  j["processes"][0]["leak"]["level"] = "severe";
  reject(j);
  j = to_json(sample_state());
  j["processes"][0]["leak_series"] = "guess";
  reject(j);
  j = to_json(sample_state());
  j["processes"][0]["pid"] = -3;
  reject(j);
  j = to_json(sample_state());
  j["processes"][0]["leak"]["failed_high"] = 1e12;
  reject(j);
  j = to_json(sample_state());
  std::swap(j["processes"][1]["rss_minima"]["closed"][0], j["processes"][1]["rss_minima"]["closed"][1]);
  reject(j);
  j = to_json(sample_state());
  auto& closed = j["cgroups"]["/kubepods/pod1/worker"]["nonreclaimable_maxima"]["closed"];
  closed = nlohmann::json::array();
  for (size_t i = 0; i <= kMaxStateSeriesPoints; ++i) closed.push_back({i, 0});
  reject(j);
  reject(nlohmann::json::array());
  reject(nlohmann::json::object());
}

TEST(State, AWeekOfBucketsFits) {
  AnalysisState s;
  BucketSeries week(60.0, 7 * 1440, BucketReduce::maximum);
  for (int i = 0; i <= 7 * 1440; ++i) week.add(60.0 * i, 500.0 * kMiB + i);
  s.cgroups["/pod"].nonreclaimable_maxima = week.state();
  EXPECT_EQ(analysis_state_from_json(to_json(s)).cgroups.at("/pod").nonreclaimable_maxima.closed.size(), 7u * 1440);
}

}  // namespace
}  // namespace ramflow::analysis
