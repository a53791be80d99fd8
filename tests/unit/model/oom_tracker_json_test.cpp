// OomTracker's restart state: round trip, bounded, clear errors.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "model/oom_tracker.h"

namespace ramflow::model {
namespace {

OomInterval interval(double time, uint64_t counter, std::vector<VanishedWorker> vanished = {}) {
  OomInterval in;
  in.time = time;
  in.counters = {{"/pod", counter, false}};
  in.vanished = std::move(vanished);
  return in;
}

VanishedWorker victim() {
  VanishedWorker w;
  w.pid = 42;
  w.comm = "celery";
  w.cgroup = "/pod";
  w.last_rss = 123;
  w.task = "tasks.resize";
  w.last_residual = -5;
  w.leak_level = "high";
  return w;
}

TEST(OomTrackerJson, RoundTripKeepsHistoryAndCounters) {
  OomTracker before;
  before.update(interval(1, 0));
  before.update(interval(2, 1, {victim()}));
  OomTracker after;
  std::string error;
  ASSERT_TRUE(after.restore(before.to_json(), &error)) << error;
  ASSERT_EQ(after.history().size(), 1u);
  const OomRecord& r = after.history().front();
  EXPECT_EQ(r.time, 2.0);
  EXPECT_EQ(r.pid, 42);
  EXPECT_EQ(r.comm, "celery");
  EXPECT_EQ(r.cgroup, "/pod");
  EXPECT_EQ(r.task, "tasks.resize");
  EXPECT_EQ(r.source, "inferred");
  EXPECT_EQ(r.rss_at_death, 123u);
  EXPECT_EQ(r.last_residual, -5);
  EXPECT_EQ(r.leak_level, "high");
  EXPECT_EQ(after.to_json(), before.to_json());
}

TEST(OomTrackerJson, KillWhileTheSidecarWasDownIsCountedOnceAfterRestore) {
  OomTracker before;
  before.update(interval(1, 3));
  OomTracker after;
  std::string error;
  ASSERT_TRUE(after.restore(before.to_json(), &error)) << error;
  auto in = interval(5, 4);
  std::vector<OomRecord> out;
  for (int i = 0; i < 3; ++i) {
    auto got = after.update(in);
    out.insert(out.end(), got.begin(), got.end());
  }
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].pid, 0);
  EXPECT_EQ(out[0].task, "unknown");
}

TEST(OomTrackerJson, ResidualAbsentStaysAbsent) {
  OomTracker before;
  auto w = victim();
  w.last_residual.reset();
  before.update(interval(1, 0));
  before.update(interval(2, 1, {w}));
  OomTracker after;
  std::string error;
  ASSERT_TRUE(after.restore(before.to_json(), &error)) << error;
  EXPECT_FALSE(after.history().front().last_residual.has_value());
}

TEST(OomTrackerJson, RestoreKeepsOnlyTheLastHistorySizeRecords) {
  OomTracker big({.match_intervals = 3, .history_size = 10, .task_label_max = 128});
  for (uint64_t i = 0; i <= 10; ++i) {
    auto w = victim();
    w.pid = static_cast<pid_t>(i);
    w.last_rss = 1 + i;  // the newest is the biggest, so it is the one picked
    big.update(interval(static_cast<double>(i), i, {w}));
  }
  OomTracker small({.match_intervals = 3, .history_size = 4, .task_label_max = 128});
  std::string error;
  ASSERT_TRUE(small.restore(big.to_json(), &error)) << error;
  ASSERT_EQ(small.history().size(), 4u);
  EXPECT_EQ(small.history().back().pid, 10);
}

TEST(OomTrackerJson, GarbageIsRejectedWithAClearErrorAndStateUntouched) {
  OomTracker tracker;
  tracker.update(interval(1, 0));
  tracker.update(interval(2, 1, {victim()}));
  const std::string state = tracker.to_json();
  std::string error;
  EXPECT_FALSE(tracker.restore("{not json", &error));
  EXPECT_NE(error.find("cannot read the OOM history"), std::string::npos);
  EXPECT_NE(error.find("delete the file"), std::string::npos);
  EXPECT_FALSE(tracker.restore(R"({"version":1,"history":[{"pid":1}],"counters":{}})", &error));
  EXPECT_FALSE(tracker.restore(R"({"version":2,"history":[],"counters":{}})", &error));
  EXPECT_EQ(error, "OOM history has version 2, this ramflowd reads version 1 — delete the file to start afresh");
  EXPECT_EQ(tracker.to_json(), state);
}

TEST(OomTrackerJson, UnknownSourceIsRejected) {
  OomTracker tracker;
  std::string error;
  EXPECT_FALSE(tracker.restore(
      R"({"version":1,"counters":{},"history":[{"time":1,"pid":1,"comm":"c","cgroup":"/p","task":"t",)"
      R"("source":"guess","rss_at_death":1,"last_residual":null,"leak_level":"low"}]})",
      &error));
  EXPECT_NE(error.find("source must be ebpf or inferred"), std::string::npos) << error;
}

TEST(OomTrackerJson, NumbersOutOfRangeOrOfTheWrongKindAreRejectedNotConverted) {
  // Found by fuzz_state_file: nlohmann converts 8.9e94 to int without a range
  // check (undefined behaviour under UBSan).
  const std::string record =
      R"("comm":"c","cgroup":"/p","task":"t","source":"ebpf","last_residual":null,"leak_level":"low")";
  for (const std::string& bad : std::vector<std::string>{
           R"({"version":8.88e94,"counters":{},"history":[]})",
           R"({"version":1.0,"counters":{},"history":[]})",
           R"({"version":1,"counters":{"/p":-1},"history":[]})",
           R"({"version":1,"counters":{"/p":2.5},"history":[]})",
           R"({"version":1,"counters":[],"history":[]})",
           R"({"version":1,"counters":{},"history":[{"time":1,"pid":1e12,"rss_at_death":1,)" + record + "}]}",
           R"({"version":1,"counters":{},"history":[{"time":1,"pid":-4,"rss_at_death":1,)" + record + "}]}",
           R"({"version":1,"counters":{},"history":[{"time":"1","pid":4,"rss_at_death":1,)" + record + "}]}",
           R"({"version":1,"counters":{},"history":[{"time":1,"pid":4,"rss_at_death":18446744073709551615,)" +
               record + "}]}",
       }) {
    OomTracker tracker;
    std::string error;
    EXPECT_FALSE(tracker.restore(bad, &error)) << bad;
    EXPECT_NE(error.find("delete the file"), std::string::npos) << error;
  }
}

}  // namespace
}  // namespace ramflow::model
