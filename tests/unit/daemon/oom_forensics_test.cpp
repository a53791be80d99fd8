// OomForensics: a vanished worker and its cgroup's oom_kill rise become one
// OOM record naming the task it was running, counted under bounded labels.
#include "daemon/oom_forensics.h"

#include <gtest/gtest.h>

#include <string>

namespace ramflow::daemon {
namespace {

constexpr const char* kPod = "/kubepods/pod1/worker";
constexpr pid_t kVictim = 4101;

// One sampling interval of a pod whose cgroup has counted `oom_kills` so far.
model::Snapshot interval(double time, std::uint64_t oom_kills) {
  model::Snapshot s;
  s.time = time;
  model::CgroupView c;
  c.facts.path = kPod;
  c.facts.has_reading = true;
  c.facts.last.oom_kill = oom_kills;
  s.cgroups.push_back(c);
  return s;
}

model::ProcessFacts worker(pid_t pid, std::uint64_t rss) {
  model::ProcessFacts p;
  p.pid = pid;
  p.start_ticks = 5000;
  p.comm = "python3";
  p.cgroup = kPod;
  p.status = probe::ProcStatus{};
  p.status->vm_rss = rss;
  return p;
}

model::AgentView running(pid_t pid, const std::string& task) {
  model::AgentView v;
  v.processes[pid].pid = pid;
  v.processes[pid].current_task = task;
  return v;
}

class OomForensicsTest : public ::testing::Test {
 protected:
  // Feeds intervals until the kill of `victim` (running `task`) is settled.
  model::Snapshot kill(const std::string& task, pid_t victim = kVictim) {
    model::Snapshot s = next(++kills_);
    forensics_.update(s, {worker(victim, 300 << 20)}, running(victim, task));
    for (int i = 0; i < 4 && s.oom_kills.size() < kills_; ++i) {
      s = next(kills_);
      forensics_.update(s, {}, {});
    }
    return s;
  }
  model::Snapshot next(std::uint64_t oom_kills) {
    model::Snapshot s = interval(t_ += 1, oom_kills);
    s.functions = functions_;
    return s;
  }
  // The first reading of a counter is a baseline, not a kill.
  void start() {
    model::Snapshot s = next(0);
    forensics_.update(s, {}, {});
  }

  OomForensics forensics_;
  std::vector<model::FunctionStats> functions_;
  double t_ = 1000;
  std::uint64_t kills_ = 0;
};

TEST_F(OomForensicsTest, AVanishedWorkerAndACounterRiseAreOneKillNamingItsTask) {
  start();
  auto s = kill("tasks.resize");
  ASSERT_EQ(s.oom_kills.size(), 1u);
  EXPECT_EQ(s.oom_kills[0].pid, kVictim);
  EXPECT_EQ(s.oom_kills[0].task, "tasks.resize");
  EXPECT_EQ(s.oom_kills[0].cgroup, kPod);
  EXPECT_EQ(s.oom_kills[0].source, "inferred");
  EXPECT_EQ(s.oom_kills[0].rss_at_death, 300u << 20);
  ASSERT_EQ(s.oom_counts.size(), 1u);
  EXPECT_EQ(s.oom_counts[0].cgroup, kPod);
  EXPECT_EQ(s.oom_counts[0].task, "tasks.resize");
  EXPECT_EQ(s.oom_counts[0].source, "inferred");
  EXPECT_EQ(s.oom_counts[0].kills, 1u);
}

// The last sample caught the victim while the kernel tore it down: its status
// had no VmRSS (0). The memory at death is the newest reading that saw memory.
TEST_F(OomForensicsTest, AReadingTakenDuringTheVictimsTeardownIsNotItsMemoryAtDeath) {
  start();
  model::ProcessFacts victim = worker(kVictim, 0);
  victim.timeline.push({t_ - 2, 280u << 20});
  victim.timeline.push({t_ - 1, 300u << 20});
  victim.timeline.push({t_, 0});
  model::Snapshot s = next(++kills_);
  forensics_.update(s, {victim}, running(kVictim, "tasks.resize"));
  for (int i = 0; i < 4 && s.oom_kills.empty(); ++i) {
    s = next(kills_);
    forensics_.update(s, {}, {});
  }
  ASSERT_EQ(s.oom_kills.size(), 1u);
  EXPECT_EQ(s.oom_kills[0].rss_at_death, 300u << 20);
}

TEST_F(OomForensicsTest, AWorkerThatExitsWithoutACounterRiseIsNoKill) {
  start();
  model::Snapshot s = next(0);
  forensics_.update(s, {worker(kVictim, 300 << 20)}, running(kVictim, "tasks.resize"));
  for (int i = 0; i < 4; ++i) {
    s = next(0);
    forensics_.update(s, {}, {});
  }
  EXPECT_TRUE(s.oom_kills.empty());
  EXPECT_TRUE(s.oom_counts.empty());
}

TEST_F(OomForensicsTest, AKillOutsideAnyTaskIsCountedUnderUnknown) {
  start();
  auto s = kill("");
  ASSERT_EQ(s.oom_counts.size(), 1u);
  EXPECT_EQ(s.oom_counts[0].task, "unknown");
}

TEST_F(OomForensicsTest, TaskLabelsStayBoundedAndFoldIntoOther) {
  start();
  model::Snapshot s;
  for (int i = 0; i < 60; ++i) s = kill("tasks.t" + std::to_string(i), kVictim + i);
  std::uint64_t total = 0, other = 0;
  for (const auto& c : s.oom_counts) {
    total += c.kills;
    if (c.task == "other") other = c.kills;
  }
  EXPECT_EQ(total, 60u);
  EXPECT_EQ(other, 10u);
  EXPECT_EQ(s.oom_counts.size(), 51u);
}

TEST_F(OomForensicsTest, ATaskTheFunctionTableAdmittedTakesNoLabelOfItsOwn) {
  start();
  for (int i = 0; i < 50; ++i) kill("tasks.t" + std::to_string(i), kVictim + i);
  functions_.push_back({"tasks.known", model::CallKind::kTask});
  auto s = kill("tasks.known", 1);
  bool named = false;
  for (const auto& c : s.oom_counts) named = named || c.task == "tasks.known";
  EXPECT_TRUE(named);
}

TEST_F(OomForensicsTest, TheVictimCarriesItsLastLeakVerdict) {
  start();
  model::Snapshot before = next(0);
  model::ProcessView p;
  p.facts = worker(kVictim, 300 << 20);
  p.analysis.residual_bytes = 8 << 20;
  before.processes.push_back(p);
  forensics_.update(before, {}, {});
  auto s = kill("tasks.resize");
  ASSERT_EQ(s.oom_kills.size(), 1u);
  EXPECT_EQ(s.oom_kills[0].last_residual, 8 << 20);
  EXPECT_EQ(s.oom_kills[0].leak_level, "unknown");  // never evaluated: too few tasks
}

TEST_F(OomForensicsTest, TheLargestVictimSetsTheLimitFloor) {
  start();
  EXPECT_FALSE(forensics_.largest_victim_bytes().has_value());
  kill("tasks.resize", 10);
  EXPECT_EQ(forensics_.largest_victim_bytes(), 300.0 * (1 << 20));
}

TEST_F(OomForensicsTest, ARestoredHistoryGoesOnCountingWhereItStopped) {
  start();
  kill("tasks.resize");
  const std::string saved = forensics_.save_state();

  OomForensics restarted;
  std::string error;
  ASSERT_TRUE(restarted.restore(saved, &error)) << error;
  model::Snapshot s = next(kills_);
  restarted.update(s, {}, {});
  ASSERT_EQ(s.oom_kills.size(), 1u);
  ASSERT_EQ(s.oom_counts.size(), 1u);
  EXPECT_EQ(s.oom_counts[0].kills, 1u);  // not reset, not counted twice
}

TEST_F(OomForensicsTest, ACorruptStateIsRefusedWithAReason) {
  std::string error;
  EXPECT_FALSE(forensics_.restore("{not json", &error));
  EXPECT_FALSE(error.empty());
}

TEST_F(OomForensicsTest, AnEbpfVictimEventNamesTheSource) {
  start();
  model::OomKillEvent e;
  e.time = t_ + 0.5;
  e.pid = kVictim;
  e.start_time = 5000;
  e.comm = "python3";
  e.cgroup = kPod;
  e.rss_bytes = 310 << 20;
  forensics_.add_kill(e);
  model::Snapshot s = next(1);
  s.ebpf_active = true;
  forensics_.update(s, {worker(kVictim, 300 << 20)}, running(kVictim, "tasks.resize"));
  ASSERT_EQ(s.oom_kills.size(), 1u);
  EXPECT_EQ(s.oom_kills[0].source, "ebpf");
  EXPECT_EQ(s.oom_kills[0].task, "tasks.resize");
}

}  // namespace
}  // namespace ramflow::daemon
