// Every attribution rule of OomTracker, with exact expectations.
#include "model/oom_tracker.h"

#include <gtest/gtest.h>

namespace ramflow::model {
namespace {

constexpr const char* kPod = "/kubepods/pod1/worker";

VanishedWorker worker(pid_t pid, uint64_t rss, std::string task = "", std::string cgroup = kPod) {
  VanishedWorker w;
  w.pid = pid;
  w.start_time = 1000 + static_cast<uint64_t>(pid);
  w.comm = "celery";
  w.cgroup = std::move(cgroup);
  w.last_rss = rss;
  w.task = std::move(task);
  w.last_residual = 4096;
  w.leak_level = "low";
  return w;
}

OomKillEvent kill(pid_t pid, double time, uint64_t rss = 50'000'000, std::string cgroup = kPod) {
  return {time, pid, 1000 + static_cast<uint64_t>(pid), "python3", std::move(cgroup), rss};
}

class OomTrackerTest : public ::testing::Test {
 protected:
  // One interval at t = 10 * n seconds.
  std::vector<OomRecord> step(uint64_t counter, std::vector<VanishedWorker> vanished = {},
                              std::vector<OomKillEvent> kills = {}, bool ebpf = true, bool cgroup_vanished = false) {
    OomInterval in;
    in.time = 10.0 * ++n_;
    in.counters = {{kPod, counter, cgroup_vanished}};
    in.vanished = std::move(vanished);
    in.kills = std::move(kills);
    in.ebpf_active = ebpf;
    return tracker_.update(in);
  }
  OomTracker tracker_;
  int n_ = 0;
};

TEST_F(OomTrackerTest, FirstCounterReadingIsABaselineNotAKill) {
  EXPECT_TRUE(step(7, {}, {}, false).empty());
  EXPECT_TRUE(step(7, {}, {}, false).empty());
  EXPECT_TRUE(tracker_.history().empty());
}

TEST_F(OomTrackerTest, EbpfEventAndCounterRiseInTheSameIntervalCountOnceAsEbpf) {
  step(0);
  auto out = step(1, {worker(42, 30'000'000, "tasks.resize")}, {kill(42, 15.5)});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].source, "ebpf");
  EXPECT_EQ(out[0].pid, 42);
  EXPECT_EQ(out[0].comm, "python3");
  EXPECT_EQ(out[0].cgroup, kPod);
  EXPECT_EQ(out[0].task, "tasks.resize");
  EXPECT_EQ(out[0].time, 15.5);
  EXPECT_EQ(out[0].rss_at_death, 50'000'000u);  // the kernel's figure, not the last sample
  EXPECT_EQ(out[0].last_residual, 4096);
  EXPECT_EQ(out[0].leak_level, "low");
  for (int i = 0; i < 8; ++i) EXPECT_TRUE(step(1).empty());
  EXPECT_EQ(tracker_.history().size(), 1u);
}

TEST_F(OomTrackerTest, CounterRiseSeenBeforeTheEbpfEventIsClaimedByIt) {
  step(0);
  EXPECT_TRUE(step(1, {worker(42, 30'000'000, "tasks.resize")}).empty());  // waits for eBPF
  auto out = step(1, {}, {kill(42, 19.0)});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].source, "ebpf");
  EXPECT_EQ(out[0].task, "tasks.resize");
  for (int i = 0; i < 8; ++i) EXPECT_TRUE(step(1).empty());
}

TEST_F(OomTrackerTest, EbpfEventSeenBeforeTheCounterRiseAndTheWorkerCountsOnce) {
  step(0);
  EXPECT_TRUE(step(0, {}, {kill(42, 11.0)}).empty());  // waits for the worker's task
  auto out = step(1, {worker(42, 30'000'000, "tasks.resize")});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].source, "ebpf");
  EXPECT_EQ(out[0].task, "tasks.resize");
  for (int i = 0; i < 8; ++i) EXPECT_TRUE(step(1).empty());
}

TEST_F(OomTrackerTest, EbpfEventWithoutAWorkerIsEmittedAfterTheWindowWithUnknownTask) {
  step(0);
  EXPECT_TRUE(step(1, {}, {kill(77, 12.0)}).empty());
  EXPECT_TRUE(step(1).empty());
  auto out = step(1);  // third interval: the window (3) is over
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].source, "ebpf");
  EXPECT_EQ(out[0].pid, 77);
  EXPECT_EQ(out[0].task, "unknown");
  EXPECT_EQ(out[0].leak_level, "unknown");
  EXPECT_FALSE(out[0].last_residual.has_value());
  for (int i = 0; i < 8; ++i) EXPECT_TRUE(step(1).empty());
}

TEST_F(OomTrackerTest, RecycledPidWithAnotherStartTimeIsNotTheVictim) {
  step(0);
  auto other = worker(42, 1, "tasks.other");
  other.start_time = 5;
  step(1, {other}, {kill(42, 11.0)});
  step(1);
  auto out = step(1);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].task, "unknown");
}

TEST_F(OomTrackerTest, WithoutEbpfACounterRiseAndAVanishedWorkerAreInferredAtOnce) {
  step(0, {}, {}, false);
  auto out = step(1, {worker(42, 30'000'000, "tasks.resize")}, {}, false);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].source, "inferred");
  EXPECT_EQ(out[0].pid, 42);
  EXPECT_EQ(out[0].comm, "celery");
  EXPECT_EQ(out[0].task, "tasks.resize");
  EXPECT_EQ(out[0].rss_at_death, 30'000'000u);
  EXPECT_EQ(out[0].time, 20.0);
}

TEST_F(OomTrackerTest, WithEbpfOnAnUnclaimedRiseIsInferredAtTheEndOfTheWindow) {
  step(0);
  EXPECT_TRUE(step(1, {worker(42, 30'000'000, "tasks.resize")}).empty());
  EXPECT_TRUE(step(1).empty());
  auto out = step(1);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].source, "inferred");
  EXPECT_EQ(out[0].pid, 42);
  EXPECT_EQ(out[0].time, 20.0);  // when the rise was seen
}

TEST_F(OomTrackerTest, WorkerReapedAnIntervalAfterTheRiseIsStillNamed) {
  step(0, {}, {}, false);
  EXPECT_TRUE(step(1, {}, {}, false).empty());
  auto out = step(1, {worker(42, 30'000'000, "tasks.resize")}, {}, false);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].pid, 42);
  EXPECT_EQ(out[0].task, "tasks.resize");
}

TEST_F(OomTrackerTest, RiseOfKAmongMoreVanishedWorkersPicksTheKWithTheHighestLastRss) {
  step(0, {}, {}, false);
  auto out = step(2, {worker(1, 10), worker(2, 300, "big"), worker(3, 200, "mid"), worker(4, 20)}, {}, false);
  ASSERT_EQ(out.size(), 2u);
  std::vector<pid_t> pids = {out[0].pid, out[1].pid};
  std::sort(pids.begin(), pids.end());
  EXPECT_EQ(pids, (std::vector<pid_t>{2, 3}));
}

TEST_F(OomTrackerTest, RiseWithNoVanishedWorkerIsAnUnknownVictim) {
  step(0, {}, {}, false);
  EXPECT_TRUE(step(1, {}, {}, false).empty());
  EXPECT_TRUE(step(1, {}, {}, false).empty());
  auto out = step(1, {}, {}, false);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].source, "inferred");
  EXPECT_EQ(out[0].pid, 0);
  EXPECT_EQ(out[0].task, "unknown");
  EXPECT_EQ(out[0].cgroup, kPod);
}

TEST_F(OomTrackerTest, WorkerThatExitsWithoutACounterRiseIsNoKill) {
  step(0, {}, {}, false);
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(step(0, i == 0 ? std::vector{worker(9, 1)} : std::vector<VanishedWorker>{}, {}, false).empty());
}

TEST_F(OomTrackerTest, WholeContainerKilledAndItsCgroupGoneCountsEachWorkerThatVanishedWithIt) {
  step(3, {}, {}, false);
  auto out = step(3, {worker(1, 100, "a"), worker(2, 200, "b")}, {}, false, /*cgroup_vanished=*/true);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].source, "inferred");
  EXPECT_EQ(out[1].source, "inferred");
  EXPECT_EQ(out[0].pid + out[1].pid, 3);
}

TEST_F(OomTrackerTest, VanishedCgroupReportedAgainInLaterIntervalsCountsOnce) {
  step(3, {}, {}, false);
  auto out = step(3, {worker(1, 100, "a"), worker(2, 200, "b")}, {}, false, true);
  EXPECT_EQ(out.size(), 2u);
  for (int i = 0; i < 8; ++i) EXPECT_TRUE(step(3, {}, {}, false, true).empty());
}

TEST_F(OomTrackerTest, VanishedCgroupNeverReadBeforeIsNoKill) {
  EXPECT_TRUE(step(3, {worker(1, 100, "a")}, {}, false, true).empty());
  for (int i = 0; i < 8; ++i) EXPECT_TRUE(step(3, {}, {}, false, true).empty());
}

TEST_F(OomTrackerTest, VanishedCgroupWhoseRiseWasAlreadyReadIsNotCountedTwice) {
  step(0, {}, {}, false);
  auto first = step(2, {worker(1, 100), worker(2, 200)}, {}, false);
  EXPECT_EQ(first.size(), 2u);
  EXPECT_TRUE(step(2, {}, {}, false, /*cgroup_vanished=*/true).empty());
}

TEST_F(OomTrackerTest, WholeContainerKilledWithEbpfCountsEachKillOnceAsEbpf) {
  step(0);
  auto out = step(0, {worker(1, 100, "a"), worker(2, 200, "b")}, {kill(1, 15.0), kill(2, 15.1)}, true, true);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].source, "ebpf");
  EXPECT_EQ(out[1].source, "ebpf");
  for (int i = 0; i < 8; ++i) EXPECT_TRUE(step(0).empty());
}

TEST_F(OomTrackerTest, CounterGoingBackwardsIsANewCgroupNotAKill) {
  step(5, {}, {}, false);
  EXPECT_TRUE(step(0, {}, {}, false).empty());
  auto out = step(1, {worker(1, 1)}, {}, false);
  EXPECT_EQ(out.size(), 1u);
}

TEST_F(OomTrackerTest, TaskLabelIsCappedOnAUtf8Boundary) {
  OomTracker tracker({.match_intervals = 3, .history_size = 100, .task_label_max = 5});
  OomInterval in;
  in.counters = {{kPod, 0, false}};
  tracker.update(in);
  in.counters = {{kPod, 1, false}};
  in.vanished = {worker(1, 1, "abc\xC3\xA9\xC3\xA9")};  // "abcéé": é is 2 bytes
  auto out = tracker.update(in);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].task, "abc\xC3\xA9");
}

TEST_F(OomTrackerTest, HistoryKeepsTheLastRecordsOnly) {
  OomTracker tracker({.match_intervals = 3, .history_size = 3, .task_label_max = 128});
  OomInterval in;
  for (uint64_t i = 0; i <= 5; ++i) {
    in.time = static_cast<double>(i);
    in.counters = {{kPod, i, false}};
    in.vanished = {worker(static_cast<pid_t>(100 + i), 1 + i)};  // the newest is the biggest
    tracker.update(in);
  }
  ASSERT_EQ(tracker.history().size(), 3u);
  EXPECT_EQ(tracker.history().front().pid, 103);
  EXPECT_EQ(tracker.history().back().pid, 105);
}

TEST_F(OomTrackerTest, CounterJumpIsCappedPerInterval) {
  step(0, {}, {}, false);
  step(0, {}, {}, false);
  size_t total = 0;
  total += step(1'000'000'000, {}, {}, false).size();
  for (int i = 0; i < 4; ++i) total += step(1'000'000'000, {}, {}, false).size();
  EXPECT_EQ(total, 256u);
}

TEST_F(OomTrackerTest, KillsInAnotherCgroupDoNotClaimThisOnesRise) {
  step(0);
  auto out = step(1, {worker(42, 5, "t")}, {kill(9, 12.0, 1, "/other")});
  EXPECT_TRUE(out.empty());
  step(1);
  out = step(1);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].source, "ebpf");  // records come out in time order: 12 s
  EXPECT_EQ(out[0].pid, 9);
  EXPECT_EQ(out[0].cgroup, "/other");
  EXPECT_EQ(out[1].source, "inferred");  // the rise seen at 20 s
  EXPECT_EQ(out[1].pid, 42);
}

}  // namespace
}  // namespace ramflow::model
