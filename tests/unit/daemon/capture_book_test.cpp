// The capture book: what it asks of which agent and when, what it keeps, and
// how it follows a window to its end. Snapshots are built by hand; the sender
// records the packets it is given (the socket server and the real agent are
// tested in tests/unit/ingest and tests/e2e).
#include "daemon/capture_book.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "analysis/integrity.h"

namespace ramflow::daemon {
namespace {

using analysis::LeakLevel;
using model::CaptureStatus;

constexpr const char* kPod = "/kubepods/pod1/worker";
constexpr double kT0 = 1796440000;

model::AgentFacts agent(pid_t pid, std::string version = "0.3.0") {
  model::AgentFacts a;
  a.pid = pid;
  a.connected = true;
  a.protocol_version = 2;
  a.hello = model::AgentHello{version, "3.11.2", "celery", "prefork", "celery@host/1"};
  return a;
}

model::ProcessView process(pid_t pid, std::optional<model::AgentFacts> a) {
  model::ProcessView p;
  p.facts.pid = pid;
  p.facts.start_ticks = 1000 + static_cast<std::uint64_t>(pid);
  p.facts.cgroup = kPod;
  p.worker = "celery@host/" + std::to_string(pid);
  p.agent = std::move(a);
  return p;
}

model::Snapshot snapshot(double time, std::vector<model::ProcessView> processes) {
  model::Snapshot s;
  s.time = time;
  s.processes = std::move(processes);
  model::CgroupView c;
  c.facts.path = kPod;
  c.facts.has_reading = true;
  c.analysis.margins.nonreclaimable = 0.5;
  s.cgroups.push_back(c);
  return s;
}

void leak_high(model::ProcessView& p, double bytes_per_task = 64 * 1024) {
  p.analysis.leak.evaluated = true;
  p.analysis.leak.level = LeakLevel::high;
  p.analysis.leak.rate_per_x = bytes_per_task;
  p.analysis.leak.samples = 100;
  p.analysis.leak_series = "residual";
}

model::AllocationCapture report(const std::string& id, pid_t pid, CaptureStatus status) {
  model::AllocationCapture r;
  r.id = id;
  r.pid = pid;
  r.status = status;
  r.started = kT0 + 1;
  r.tasks_wanted = 20;
  r.seconds_wanted = 60;
  r.frames = 8;
  if (status == CaptureStatus::done) {
    r.ended = kT0 + 2;
    r.ended_by = "tasks";
    r.tasks = 20;
    r.anon_growth = 2 << 20;
    r.traced_growth = 2 << 20;
    r.tracemalloc_growth = 4096;
    r.sites.push_back({2 << 20, 20, "CACHE[key] = body", {{"app/tasks.py", 42, "handle"}}, 0});
  }
  return r;
}

class CaptureBookTest : public ::testing::Test {
 protected:
  CaptureBookTest() : book_(config()) {
    book_.set_sender([this](pid_t pid, const std::string& packet) {
      if (!reachable_) return false;
      sent_.emplace_back(pid, nlohmann::json::parse(packet));
      return true;
    });
  }
  static config::Config config() {
    config::Config c;
    c.capture_every = std::chrono::hours(1);
    return c;
  }
  CaptureBook book_;
  std::vector<std::pair<pid_t, nlohmann::json>> sent_;
  bool reachable_ = true;
};

TEST_F(CaptureBookTest, OnDemandIsSentAtOnceWithTheDefaultWindow) {
  auto snap = snapshot(kT0, {process(10, agent(10))});
  auto outcome = book_.request({10, std::nullopt, std::nullopt}, &snap, kT0);
  ASSERT_TRUE(std::holds_alternative<model::AllocationCapture>(outcome)) << std::get<std::string>(outcome);
  const auto& c = std::get<model::AllocationCapture>(outcome);
  EXPECT_EQ(c.status, CaptureStatus::requested);
  EXPECT_EQ(c.reason, analysis::CaptureReason::on_demand);
  ASSERT_EQ(sent_.size(), 1u);
  EXPECT_EQ(sent_[0].first, 10);
  EXPECT_EQ(sent_[0].second["type"], "capture");
  EXPECT_EQ(sent_[0].second["id"], c.id);
  EXPECT_EQ(sent_[0].second["tasks"], 20);
  EXPECT_EQ(sent_[0].second["seconds"], 60);
  EXPECT_EQ(sent_[0].second["frames"], 8);
  EXPECT_EQ(sent_[0].second["why"], "on_demand");
}

TEST_F(CaptureBookTest, AThreadsPoolsWindowIsMarkedConcurrent) {
  auto p = process(10, agent(10));
  p.analysis.approximate = true;
  auto snap = snapshot(kT0, {p});
  auto c = std::get<model::AllocationCapture>(book_.request({10, {}, {}}, &snap, kT0));
  EXPECT_TRUE(c.concurrent);
  book_.update(snap, {report(c.id, 10, CaptureStatus::done)});
  EXPECT_TRUE(book_.find(c.id)->concurrent) << "kept through the agent's report";
}

TEST_F(CaptureBookTest, OneBoundGivenTheOtherStopsWaiting) {
  auto snap = snapshot(kT0, {process(10, agent(10)), process(11, agent(11))});
  book_.request({10, std::nullopt, 5.0}, &snap, kT0);
  book_.request({11, 7u, std::nullopt}, &snap, kT0);
  EXPECT_EQ(sent_[0].second["tasks"], 100000);
  EXPECT_EQ(sent_[0].second["seconds"], 5);
  EXPECT_EQ(sent_[1].second["tasks"], 7);
  EXPECT_EQ(sent_[1].second["seconds"], 600);
}

TEST_F(CaptureBookTest, EachRefusalSaysWhatToDo) {
  auto snap = snapshot(kT0, {process(10, agent(10)), process(11, std::nullopt), process(12, agent(12, "0.2.0"))});
  snap.processes.push_back(process(13, agent(13)));
  snap.processes.back().agent->connected = false;
  auto error = [&](pid_t pid, std::optional<std::uint64_t> tasks = {}, std::optional<double> seconds = {}) {
    auto outcome = book_.request({pid, tasks, seconds}, &snap, kT0);
    return std::holds_alternative<std::string>(outcome) ? std::get<std::string>(outcome) : std::string();
  };
  EXPECT_NE(error(99).find("not a worker this ramflowd watches"), std::string::npos);
  EXPECT_NE(error(11).find("no ramflow agent"), std::string::npos);
  EXPECT_NE(error(12).find("upgrade the agent to 0.3"), std::string::npos);
  EXPECT_NE(error(13).find("not connected"), std::string::npos);
  EXPECT_NE(error(10, 0u).find("--tasks"), std::string::npos);
  EXPECT_NE(error(10, std::nullopt, 0.5).find("--seconds"), std::string::npos);
  EXPECT_EQ(error(10), "");
  EXPECT_NE(error(10).find("is still requested"), std::string::npos);  // one window per process
  reachable_ = false;
  snap.processes.push_back(process(14, agent(14)));
  EXPECT_NE(error(14).find("no agent connection"), std::string::npos);
  EXPECT_FALSE(book_.find("14-1796440000-3").has_value()) << "an unsent capture is not kept";
}

TEST_F(CaptureBookTest, TheAgentsReportsCarryItToItsResult) {
  auto snap = snapshot(kT0, {process(10, agent(10))});
  auto c = std::get<model::AllocationCapture>(book_.request({10, {}, {}}, &snap, kT0));
  book_.update(snap, {report(c.id, 10, CaptureStatus::running)});
  EXPECT_EQ(book_.find(c.id)->status, CaptureStatus::running);
  snap.time = kT0 + 3;
  book_.update(snap, {report(c.id, 10, CaptureStatus::done)});
  auto done = book_.find(c.id);
  EXPECT_EQ(done->status, CaptureStatus::done);
  EXPECT_EQ(done->reason_text, "asked with ramflowd capture");  // kept from the request
  ASSERT_EQ(done->sites.size(), 1u);
  EXPECT_EQ(done->sites[0].frames[0].line, 42u);
  ASSERT_EQ(snap.captures->size(), 1u);
  EXPECT_EQ((*snap.captures)[0].id, c.id);
  // A "running" re-sent on a reconnect after the result does not undo it.
  book_.update(snap, {report(c.id, 10, CaptureStatus::running)});
  EXPECT_EQ(book_.find(c.id)->status, CaptureStatus::done);
  // Another process cannot change it.
  book_.update(snap, {report(c.id, 77, CaptureStatus::failed)});
  EXPECT_EQ(book_.find(c.id)->status, CaptureStatus::done);
}

// The block estimate read a dict cache as native (objects over 512 B and
// dict tables miss pymalloc's count); the capture measured Python growth.
TEST_F(CaptureBookTest, AProcesssMeasuredGrowthReplacesItsBlockEstimateAndOnlyItsOwn) {
  auto snap = snapshot(kT0, {process(10, agent(10)), process(11, agent(11))});
  for (auto& p : snap.processes) {
    p.analysis.bloat = analysis::what_holds_bloat(std::vector<analysis::TaskDelta>{{1000, 8e6}});
    ASSERT_EQ(p.analysis.bloat.holder, analysis::BloatHolder::native_buffers);
  }
  auto c = std::get<model::AllocationCapture>(book_.request({10, {}, {}}, &snap, kT0));
  book_.update(snap, {report(c.id, 10, CaptureStatus::running)});
  EXPECT_EQ(snap.processes[0].analysis.bloat.holder, analysis::BloatHolder::native_buffers);  // no result yet
  snap.time = kT0 + 3;
  book_.update(snap, {report(c.id, 10, CaptureStatus::done)});
  EXPECT_EQ(snap.processes[0].analysis.bloat.holder, analysis::BloatHolder::python_objects);
  EXPECT_EQ(snap.processes[0].analysis.bloat.capture_id, c.id);
  EXPECT_EQ(snap.processes[1].analysis.bloat.holder, analysis::BloatHolder::native_buffers);
  EXPECT_TRUE(snap.processes[1].analysis.bloat.capture_id.empty());
  // The next cycle's analysis starts from the estimate again; the book measures it again.
  auto next = snapshot(kT0 + 4, {process(10, agent(10))});
  next.processes[0].analysis.bloat = analysis::what_holds_bloat(std::vector<analysis::TaskDelta>{{1000, 8e6}});
  book_.update(next, {});
  EXPECT_EQ(next.processes[0].analysis.bloat.capture_id, c.id);
  // Once it ended, its post-mortem says the same (ramflowd run's final summary reads it).
  auto ended = snapshot(kT0 + 5, {});
  model::ExitedProcess gone;
  gone.pid = 10;
  gone.start_ticks = 1010;
  gone.analysis.bloat = analysis::what_holds_bloat(std::vector<analysis::TaskDelta>{{1000, 8e6}});
  ended.cgroups[0].analysis.exited.push_back(gone);
  book_.update(ended, {});
  EXPECT_EQ(ended.cgroups[0].analysis.exited[0].analysis.bloat.holder, analysis::BloatHolder::python_objects);
  // The same pid in another process (reused) is not measured by it.
  auto reused = snapshot(kT0 + 5, {process(10, agent(10))});
  reused.processes[0].facts.start_ticks += 1;
  book_.update(reused, {});
  EXPECT_TRUE(reused.processes[0].analysis.bloat.capture_id.empty());
}

TEST_F(CaptureBookTest, AResultOfAWindowAskedBeforeARestartIsKept) {
  auto snap = snapshot(kT0, {process(10, agent(10))});
  book_.update(snap, {report("10-1796400000-4", 10, CaptureStatus::done)});
  auto c = book_.find("10-1796400000-4");
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->reason_text, "asked before ramflowd restarted");
  EXPECT_EQ(c->start_ticks, 1010u);
  EXPECT_EQ(c->worker, "celery@host/10");
}

TEST_F(CaptureBookTest, UnansweredOrOrphanedWindowsAreLostWithTheirReason) {
  auto snap = snapshot(kT0, {process(10, agent(10)), process(11, agent(11))});
  auto silent = std::get<model::AllocationCapture>(book_.request({10, {}, {}}, &snap, kT0));
  auto orphan = std::get<model::AllocationCapture>(book_.request({11, {}, {}}, &snap, kT0));
  book_.update(snap, {report(orphan.id, 11, CaptureStatus::running)});
  snap.time = kT0 + CaptureBook::kAnswerSeconds - 1;
  book_.update(snap, {});
  EXPECT_EQ(book_.find(silent.id)->status, CaptureStatus::requested);
  snap = snapshot(kT0 + CaptureBook::kAnswerSeconds + 1, {process(10, agent(10))});  // 11 ended
  book_.update(snap, {});
  EXPECT_EQ(book_.find(silent.id)->status, CaptureStatus::lost);
  EXPECT_NE(book_.find(silent.id)->error.find("no answer"), std::string::npos);
  EXPECT_EQ(book_.find(orphan.id)->status, CaptureStatus::lost);
  EXPECT_NE(book_.find(orphan.id)->error.find("ended before its window"), std::string::npos);
}

TEST_F(CaptureBookTest, AWindowThatNeverEndsIsLostPastItsHardEnd) {
  auto snap = snapshot(kT0, {process(10, agent(10))});
  auto c = std::get<model::AllocationCapture>(book_.request({10, {}, 10.0}, &snap, kT0));
  auto running = report(c.id, 10, CaptureStatus::running);
  running.seconds_wanted = 10;
  book_.update(snap, {running});
  snap.time = running.started + 20 + CaptureBook::kLateSeconds - 1;
  book_.update(snap, {});
  EXPECT_EQ(book_.find(c.id)->status, CaptureStatus::running);
  snap.time += 2;
  book_.update(snap, {});
  EXPECT_EQ(book_.find(c.id)->status, CaptureStatus::lost);
}

TEST_F(CaptureBookTest, AHighLeakIsCapturedOnceWithinThePeriodWithAWindowSizedByItsRate) {
  auto p = process(10, agent(10));
  leak_high(p, 8 * 1024);
  auto snap = snapshot(kT0, {p, process(11, agent(11))});
  book_.update(snap, {});
  ASSERT_EQ(sent_.size(), 1u);
  EXPECT_EQ(sent_[0].first, 10);
  EXPECT_EQ(sent_[0].second["why"], "leak_high");
  EXPECT_EQ(sent_[0].second["tasks"], 128);  // 1 MiB at 8 KiB a task
  ASSERT_EQ(snap.captures->size(), 1u);
  EXPECT_NE((*snap.captures)[0].reason_text.find("per task"), std::string::npos);
  const std::string id = (*snap.captures)[0].id;
  book_.update(snap, {report(id, 10, CaptureStatus::done)});
  for (double t = kT0 + 60; t < kT0 + 3600; t += 600) {
    snap.time = t;
    book_.update(snap, {});
  }
  EXPECT_EQ(sent_.size(), 1u) << "not again within the hour";
  snap.time = kT0 + 3600;
  book_.update(snap, {});
  EXPECT_EQ(sent_.size(), 2u) << "again after it";
}

TEST_F(CaptureBookTest, AutomaticCapturesCanBeSwitchedOff) {
  auto c = config();
  c.capture_auto = false;
  CaptureBook off(c);
  off.set_sender([this](pid_t pid, const std::string& packet) {
    sent_.emplace_back(pid, nlohmann::json::parse(packet));
    return true;
  });
  auto p = process(10, agent(10));
  leak_high(p);
  auto snap = snapshot(kT0, {p});
  off.update(snap, {});
  EXPECT_TRUE(sent_.empty());
  EXPECT_TRUE(std::holds_alternative<model::AllocationCapture>(off.request({10, {}, {}}, &snap, kT0)))
      << "on demand still works";
}

TEST_F(CaptureBookTest, AnOldAgentIsNeverAskedAutomatically) {
  auto p = process(10, agent(10, "0.2.0"));
  leak_high(p);
  auto snap = snapshot(kT0, {p});
  book_.update(snap, {});
  EXPECT_TRUE(sent_.empty());
}

TEST_F(CaptureBookTest, AnOomNearCapturesTheFastestGrowingProcessBeforeTheKill) {
  auto slow = process(10, agent(10));
  slow.analysis.allocation_bytes_per_second = 1e5;
  auto fast = process(11, agent(11));
  fast.analysis.allocation_bytes_per_second = 5e6;
  auto snap = snapshot(kT0, {slow, fast});
  auto& c = snap.cgroups[0].analysis;
  c.margins.nonreclaimable = 0.05;  // under the 0.10 OOM-risk margin
  c.time_to_oom = analysis::TimeToOom{120, 5e6, 0.99, 60};
  book_.update(snap, {});
  ASSERT_EQ(sent_.size(), 1u);
  EXPECT_EQ(sent_[0].first, 11);
  EXPECT_EQ(sent_[0].second["why"], "oom_near");
  EXPECT_EQ(sent_[0].second["seconds"], 30);  // a quarter of the time left
  snap.time += 1;
  book_.update(snap, {});
  EXPECT_EQ(sent_.size(), 1u) << "the next fastest is not asked while the fastest's window runs";
  // Far from the kill, or a margin still wide: nothing.
  CaptureBook other(config());
  std::vector<pid_t> asked;
  other.set_sender([&](pid_t pid, const std::string&) {
    asked.push_back(pid);
    return true;
  });
  c.time_to_oom->seconds = 900;
  other.update(snap, {});
  c.time_to_oom->seconds = 120;
  c.margins.nonreclaimable = 0.2;
  other.update(snap, {});
  EXPECT_TRUE(asked.empty());
}

TEST_F(CaptureBookTest, ALeakCapturedEarlierIsCapturedAgainWhenItsKillIsNear) {
  auto p = process(10, agent(10));
  leak_high(p);
  auto snap = snapshot(kT0, {p});
  book_.update(snap, {});
  book_.update(snap, {report(snap.captures->at(0).id, 10, CaptureStatus::done)});
  snap.time = kT0 + 600;
  snap.cgroups[0].analysis.margins.nonreclaimable = 0.05;
  snap.cgroups[0].analysis.time_to_oom = analysis::TimeToOom{40, 1e6, 0.99, 60};
  book_.update(snap, {});
  ASSERT_EQ(sent_.size(), 2u);
  EXPECT_EQ(sent_[1].second["why"], "oom_near");
  EXPECT_EQ(sent_[1].second["seconds"], 10);
  snap.time += 60;
  book_.update(snap, {report(snap.captures->at(0).id, 10, CaptureStatus::done)});
  book_.update(snap, {});
  EXPECT_EQ(sent_.size(), 2u) << "each reason once per period";
}

TEST_F(CaptureBookTest, TheKillOfACapturedProcessNamesItsCapture) {
  auto p = process(10, agent(10));
  leak_high(p);
  auto snap = snapshot(kT0, {p});
  book_.update(snap, {});
  const std::string id = snap.captures->at(0).id;
  book_.update(snap, {report(id, 10, CaptureStatus::done)});
  auto after = snapshot(kT0 + 30, {});
  model::OomRecord kill;
  kill.time = kT0 + 29;
  kill.pid = 10;
  after.oom_kills.push_back(kill);
  book_.update(after, {});
  EXPECT_EQ(after.oom_kills[0].capture_id, id);
  ASSERT_EQ(after.captures->size(), 1u);
  EXPECT_EQ((*after.captures)[0].oom_killed_at, kT0 + 29);
  EXPECT_EQ((*after.captures)[0].status, CaptureStatus::done) << "its result stays";
}

TEST_F(CaptureBookTest, TheStateKeepsCapturesAndThePeriodAcrossARestart) {
  auto p = process(10, agent(10));
  leak_high(p);
  auto snap = snapshot(kT0, {p});
  book_.update(snap, {});
  book_.update(snap, {report(snap.captures->at(0).id, 10, CaptureStatus::done)});
  const std::string state = book_.state_json();

  CaptureBook restarted(config());
  std::vector<pid_t> asked;
  restarted.set_sender([&](pid_t pid, const std::string&) {
    asked.push_back(pid);
    return true;
  });
  std::string error;
  ASSERT_TRUE(restarted.restore(state, &error)) << error;
  snap.time = kT0 + 120;
  restarted.update(snap, {});
  EXPECT_TRUE(asked.empty()) << "the period survives the restart";
  ASSERT_EQ(snap.captures->size(), 1u);
  EXPECT_EQ((*snap.captures)[0].status, CaptureStatus::done);
  EXPECT_EQ(restarted.state_json(), state);
}

TEST_F(CaptureBookTest, TheBookIsBounded) {
  std::vector<model::ProcessView> many;
  for (pid_t pid = 100; pid < 100 + static_cast<pid_t>(2 * CaptureBook::kKept); ++pid) {
    auto p = process(pid, agent(pid));
    leak_high(p);
    many.push_back(p);
  }
  auto snap = snapshot(kT0, many);
  book_.update(snap, {});
  std::vector<model::AllocationCapture> done;
  for (const auto& c : *snap.captures) done.push_back(report(c.id, c.pid, CaptureStatus::done));
  book_.update(snap, done);
  EXPECT_EQ(snap.captures->size(), CaptureBook::kKept);
}

}  // namespace
}  // namespace ramflow::daemon
