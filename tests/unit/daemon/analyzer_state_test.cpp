// A restarted Analyzer that restored the saved state computes what the one
// that never stopped computes: same leak evaluations, same forecast, same
// request — on synthetic snapshots with hand-made growth.
#include <gtest/gtest.h>

#include <cmath>

#include <nlohmann/json.hpp>

#include "analysis/units.h"
#include "daemon/analyzer.h"

namespace ramflow::daemon {
namespace {

using analysis::kMiB;

config::Config test_config() {
  config::Config c;
  c.bucket = std::chrono::milliseconds(1000);  // one bucket per sample: series move every step
  return c;
}

constexpr double kStart = 1'700'000'000;
constexpr pid_t kPid = 4321;
constexpr std::uint64_t kTicks = 5555;

model::ProcessView process(double t, double rss) {
  model::ProcessView p;
  p.facts.pid = kPid;
  p.facts.start_ticks = kTicks;
  p.facts.cgroup = "/kubepods/pod-a/worker";
  p.facts.status = probe::ProcStatus{};
  p.facts.status->vm_rss = static_cast<std::uint64_t>(rss);
  p.facts.status->vm_hwm = static_cast<std::uint64_t>(rss);
  p.facts.status->rss_anon = static_cast<std::uint64_t>(rss);  // the scope compares anonymous memory
  p.facts.timeline.push({t, static_cast<std::uint64_t>(rss)});
  return p;
}

model::CgroupView cgroup(double t, double anon) {
  model::CgroupView c;
  c.facts.path = "/kubepods/pod-a/worker";
  c.facts.has_reading = true;
  c.facts.last_read = t;
  c.facts.last.version = probe::CgroupVersion::kV1;
  c.facts.last.anon = static_cast<std::uint64_t>(anon);
  c.facts.last.usage = static_cast<std::uint64_t>(anon + 20 * kMiB);
  c.facts.last.inactive_file = static_cast<std::uint64_t>(10 * kMiB);
  c.facts.last.limit = static_cast<std::uint64_t>(1024 * kMiB);
  c.limit = {static_cast<std::uint64_t>(1024 * kMiB), "cgroup"};
  return c;
}

// A worker without an agent whose RSS grows 1 MiB a second with a wobble.
model::Snapshot leaking_pod(int i) {
  const double t = kStart + i + 0.5;
  const double rss = 200 * kMiB + i * kMiB + std::fmod(i * 7919.0, 5.0) * 100 * 1024;
  model::Snapshot s;
  s.time = t;
  s.processes.push_back(process(t, rss));
  s.cgroups.push_back(cgroup(t, rss));
  return s;
}

void expect_same(const model::Snapshot& a, const model::Snapshot& b, int i) {
  const auto& la = a.processes[0].analysis.leak;
  const auto& lb = b.processes[0].analysis.leak;
  EXPECT_EQ(la.evaluated, lb.evaluated) << i;
  EXPECT_EQ(la.level, lb.level) << i;
  EXPECT_DOUBLE_EQ(la.probability, lb.probability) << i;
  EXPECT_DOUBLE_EQ(la.rate_bytes_per_s, lb.rate_bytes_per_s) << i;
  const auto& ca = a.cgroups[0].analysis;
  const auto& cb = b.cgroups[0].analysis;
  ASSERT_EQ(ca.time_to_oom.has_value(), cb.time_to_oom.has_value()) << i;
  if (ca.time_to_oom) {
    EXPECT_DOUBLE_EQ(ca.time_to_oom->seconds, cb.time_to_oom->seconds) << i;
  }
  EXPECT_DOUBLE_EQ(ca.recommended_request.bytes, cb.recommended_request.bytes) << i;
  EXPECT_DOUBLE_EQ(ca.recommended_limit.bytes, cb.recommended_limit.bytes) << i;
}

TEST(AnalyzerState, ARestoredAnalyzerGoesOnExactlyLikeOneThatNeverStopped) {
  const auto config = test_config();
  Analyzer kept(config);
  for (int i = 0; i < 40; ++i) {
    auto s = leaking_pod(i);
    kept.analyze(s, {}, {}, std::nullopt);
  }
  const auto saved = analysis::analysis_state_from_json(analysis::to_json(kept.save_state()));
  Analyzer restarted(config);
  restarted.restore(saved, kStart + 40);

  // The first snapshot after the restart already shows the restored verdict.
  auto first = leaking_pod(40);
  auto first_copy = first;
  kept.analyze(first, {}, {}, std::nullopt);
  restarted.analyze(first_copy, {}, {}, std::nullopt);
  ASSERT_TRUE(first_copy.processes[0].analysis.leak.evaluated);
  EXPECT_EQ(first_copy.processes[0].analysis.leak.level, analysis::LeakLevel::high);
  ASSERT_TRUE(first_copy.cgroups[0].analysis.time_to_oom);
  expect_same(first, first_copy, 40);
  for (int i = 41; i < 80; ++i) {
    auto a = leaking_pod(i);
    auto b = a;
    kept.analyze(a, {}, {}, std::nullopt);
    restarted.analyze(b, {}, {}, std::nullopt);
    expect_same(a, b, i);
  }
}

TEST(AnalyzerState, AFreshAnalyzerHasToLearnAgain) {  // the control: what restoring saves
  Analyzer fresh(test_config());
  auto s = leaking_pod(40);
  fresh.analyze(s, {}, {}, std::nullopt);
  EXPECT_FALSE(s.processes[0].analysis.leak.evaluated);
  EXPECT_FALSE(s.cgroups[0].analysis.time_to_oom);
}

TEST(AnalyzerState, ARestoredEntryForAReusedPidIsDropped) {
  Analyzer kept(test_config());
  for (int i = 0; i < 40; ++i) {
    auto s = leaking_pod(i);
    kept.analyze(s, {}, {}, std::nullopt);
  }
  auto saved = kept.save_state();
  saved.processes[0].start_ticks = kTicks + 1;  // the pid now belongs to another process
  Analyzer restarted(test_config());
  restarted.restore(saved, kStart + 40);
  auto s = leaking_pod(40);
  restarted.analyze(s, {}, {}, std::nullopt);
  EXPECT_FALSE(s.processes[0].analysis.leak.evaluated);
}

// A worker with an agent: residual series from task ends. After the restart
// the agent reconnects with its task-end numbering back at 0.
model::ProcessView agent_worker(double t, model::AgentFacts agent) {
  model::ProcessView p = process(t, agent.task_ends.back().rss_after);
  p.agent = std::move(agent);
  return p;
}

model::AgentFacts agent_facts() {
  model::AgentFacts a;
  a.pid = kPid;
  a.connected = true;
  a.hello = model::AgentHello{};
  a.ready_rss = static_cast<std::uint64_t>(150 * kMiB);
  a.ready_time = kStart - 10;
  return a;
}

void end_task(model::AgentFacts& a, int i) {
  model::TaskEnd e;
  e.task = "tasks.resize";
  e.time = kStart + i;
  e.rss_after = static_cast<std::uint64_t>(150 * kMiB + i * 512 * 1024 + (i % 3) * 64 * 1024);
  a.task_ends.push(e);
  ++a.tasks_ended;
}

TEST(AnalyzerState, TheResidualSeriesContinuesAcrossTheAgentsNewNumbering) {
  const auto config = test_config();
  Analyzer kept(config);
  auto before = agent_facts();
  for (int i = 0; i < 40; ++i) {
    end_task(before, i);
    model::Snapshot s;
    s.time = kStart + i;
    s.processes.push_back(agent_worker(s.time, before));
    kept.analyze(s, {}, {}, std::nullopt);
  }
  Analyzer restarted(config);
  restarted.restore(kept.save_state(), kStart + 40);

  // Before the agent reconnects: the restored verdict stays, the series is not replaced.
  model::Snapshot gap;
  gap.time = kStart + 39.5;
  gap.processes.push_back(process(gap.time, 170 * kMiB));
  restarted.analyze(gap, {}, {}, std::nullopt);
  EXPECT_TRUE(gap.processes[0].analysis.leak.evaluated);
  EXPECT_EQ(gap.processes[0].analysis.leak.level, analysis::LeakLevel::high);

  auto after = agent_facts();  // the new connection: task ends numbered from 0 again
  for (int i = 40; i < 70; ++i) {
    end_task(before, i);
    end_task(after, i);
    model::Snapshot a, b;
    a.time = b.time = kStart + i;
    a.processes.push_back(agent_worker(a.time, before));
    b.processes.push_back(agent_worker(b.time, after));
    kept.analyze(a, {}, {}, std::nullopt);
    restarted.analyze(b, {}, {}, std::nullopt);
    EXPECT_EQ(b.processes[0].analysis.leak_series, "residual");
    EXPECT_EQ(a.processes[0].analysis.leak.level, b.processes[0].analysis.leak.level) << i;
    EXPECT_DOUBLE_EQ(a.processes[0].analysis.leak.probability, b.processes[0].analysis.leak.probability) << i;
    EXPECT_DOUBLE_EQ(a.processes[0].analysis.leak.rate_bytes_per_s, b.processes[0].analysis.leak.rate_bytes_per_s) << i;
  }
}

TEST(AnalyzerState, TheGenerationMovesOnlyWhenTheLearnedStateDoes) {
  Analyzer a(test_config());
  auto s = leaking_pod(0);
  a.analyze(s, {}, {}, std::nullopt);
  const auto g = a.generation();
  model::Snapshot same = leaking_pod(0);  // same bucket, same values: nothing new learned
  a.analyze(same, {}, {}, std::nullopt);
  EXPECT_EQ(a.generation(), g);
  auto next = leaking_pod(1);
  a.analyze(next, {}, {}, std::nullopt);
  EXPECT_GT(a.generation(), g);
}

}  // namespace
}  // namespace ramflow::daemon
