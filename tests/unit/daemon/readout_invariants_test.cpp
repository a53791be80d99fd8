// The readouts a user acts on checked against their invariants over hundreds of
// synthetic worker histories (docs/analysis.md "Invariants"): prefork groups
// with recycled children (some forked after a pid wrap), wrappers, agents or
// none, leaks, caches, spikes, page cache, other programs in the cgroup, a
// limit or the host. Every cycle of every history: request <= limit; limit >=
// footprint x (1 + headroom); footprint between the largest VmHWM and the
// cgroup's peak counter; layers add up to the group's peak; margins in [0, 1]
// and consistent with the limit; the leak probability in its level's band;
// the Celery budget fits the limit; and no pod figure moves when a program the
// sidecar does not watch allocates 1 GiB in the same cgroup.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "analysis/units.h"
#include "daemon/analyzer.h"
#include "thresholds/thresholds.h"

namespace ramflow::daemon {
namespace {

using analysis::kMiB;

constexpr double kStart = 1'700'000'000;
constexpr const char* kCgroup = "/kubepods/pod-x/worker";
constexpr double kFileBytes = 9 * kMiB;  // interpreter and libraries, mapped from files

// One worker process of a synthetic history.
struct Worker {
  pid_t pid = 0;
  pid_t ppid = 0;
  std::uint64_t ticks = 0;
  bool agent = false;
  bool celery = false;
  double ready = 0;          // RSS at ready
  double rss = 0;            // now
  double hwm = 0;
  double shared = 0;         // copy-on-write pages shared with the main (children)
  double leak_per_task = 0;  // retained by each task
  double cache_cap = 0;      // a cache that fills to this and stops
  double spike = 0;          // held during a task, then freed
  std::size_t tasks = 0;
  int lifetime = 0;          // tasks before it is recycled (0: never)
};

struct History {
  std::mt19937 rng;
  config::Config config;
  std::vector<Worker> workers;  // [0] is the main (or the only process)
  bool wrapper = false;
  std::optional<double> limit;
  double other_program = 0;  // anon memory of an unwatched program in the same cgroup
  double page_cache = 0;
  double cgroup_peak = 0;
  pid_t next_pid = 0;

  explicit History(unsigned seed) : rng(seed) {
    config.bucket = std::chrono::milliseconds(1000);
    config.headroom = std::uniform_real_distribution<double>(0, 0.5)(rng);
  }
  double uniform(double a, double b) { return std::uniform_real_distribution<double>(a, b)(rng); }
  bool chance(double p) { return std::bernoulli_distribution(p)(rng); }
};

Worker new_child(History& h, const Worker& main) {
  Worker c;
  // After a pid wrap a recycled child may get a lower pid than its parent.
  c.pid = (h.chance(0.3) ? 300 : 40000) + h.next_pid++;
  c.ppid = main.pid;
  c.ticks = 1000 + static_cast<std::uint64_t>(h.next_pid);
  c.agent = main.agent;
  c.celery = main.celery;
  c.shared = main.ready * h.uniform(0.5, 0.9);
  c.ready = main.ready + h.uniform(1, 8) * kMiB;
  c.rss = c.hwm = c.ready;
  c.leak_per_task = h.chance(0.4) ? h.uniform(0.1, 3) * kMiB : 0;
  c.cache_cap = h.chance(0.3) ? h.uniform(5, 80) * kMiB : 0;
  c.spike = h.chance(0.3) ? h.uniform(10, 300) * kMiB : 0;
  c.lifetime = h.chance(0.5) ? static_cast<int>(h.uniform(5, 60)) : 0;
  return c;
}

History make_history(unsigned seed) {
  History h(seed);
  Worker main;
  main.pid = 30000;
  main.ppid = 1;
  main.ticks = 500;
  main.agent = h.chance(0.8);
  main.celery = main.agent && h.chance(0.7);
  main.ready = h.uniform(30, 300) * kMiB;
  main.rss = main.hwm = main.ready;
  if (h.chance(0.3)) main.leak_per_task = h.uniform(0.1, 2) * kMiB;
  h.workers.push_back(main);
  const int children = h.chance(0.7) ? static_cast<int>(h.uniform(1, 7)) : 0;
  for (int i = 0; i < children; ++i) h.workers.push_back(new_child(h, h.workers[0]));
  h.wrapper = h.chance(0.2);
  if (h.chance(0.7)) h.limit = std::round(h.uniform(256, 4096)) * kMiB;
  if (h.chance(0.2)) h.other_program = h.uniform(50, 800) * kMiB;
  return h;
}

model::ProcessView view_of(const History& h, const Worker& w, double t) {
  model::ProcessView p;
  p.facts.pid = w.pid;
  p.facts.ppid = h.wrapper && w.ppid == 1 ? 20000 : w.ppid;
  p.facts.start_ticks = w.ticks;
  p.facts.start_time = kStart;
  p.facts.cgroup = kCgroup;
  probe::ProcStatus s;
  s.vm_rss = static_cast<std::uint64_t>(w.rss);
  s.vm_hwm = static_cast<std::uint64_t>(w.hwm);
  s.rss_file = static_cast<std::uint64_t>(std::min(kFileBytes, w.rss));
  s.rss_anon = s.vm_rss - s.rss_file;
  p.facts.status = s;
  p.facts.timeline.push({t, s.vm_rss});
  p.facts.max_sampled_rss = s.vm_hwm;
  if (w.agent) {
    p.agent = model::AgentFacts{};
    p.agent->pid = w.pid;
    p.agent->connected = true;
    p.agent->hello = model::AgentHello{"0.1.0", "3.11", w.celery ? "celery" : "", w.celery ? "prefork" : "", ""};
    p.agent->ready_rss = static_cast<std::uint64_t>(w.ready);
    p.agent->ready_hwm = static_cast<std::uint64_t>(w.ready);
    p.agent->ready_time = kStart;
    p.agent->bootstrap_rss = static_cast<std::uint64_t>(12 * kMiB);
    p.agent->tasks_ended = w.tasks;
  }
  return p;
}

// One second of the history: every worker runs a task; a recycled child is
// replaced; the cgroup's counters follow.
model::Snapshot step(History& h, int i, std::vector<model::ProcessFacts>& exited, std::map<pid_t, model::RingBuffer<model::TaskEnd>>& ends) {
  const double t = kStart + 1 + i;
  exited.clear();
  for (std::size_t k = 0; k < h.workers.size(); ++k) {
    Worker& w = h.workers[k];
    const bool spiking = w.spike > 0 && i % 7 == 3;
    double cache = w.cache_cap > 0 ? std::min(w.cache_cap, static_cast<double>(w.tasks) * 2 * kMiB) : 0;
    w.rss = w.ready + w.leak_per_task * static_cast<double>(w.tasks) + cache + (spiking ? w.spike : 0) +
            h.uniform(0, 0.5) * kMiB;
    w.hwm = std::max(w.hwm, w.rss);
    ++w.tasks;
    if (w.agent) {
      model::TaskEnd e;
      e.task = "tasks.work";
      e.time = t;
      e.rss_after = static_cast<std::uint64_t>(w.rss - (spiking ? w.spike : 0));
      ends[w.pid].push(e);
    }
    if (k > 0 && w.lifetime > 0 && static_cast<int>(w.tasks) >= w.lifetime) {
      model::ProcessFacts gone = view_of(h, w, t).facts;
      exited.push_back(gone);
      ends.erase(w.pid);
      w = new_child(h, h.workers[0]);
    }
  }
  model::Snapshot s;
  s.time = t;
  s.host_memory = probe::Meminfo{static_cast<std::uint64_t>(24 * 1024 * kMiB), static_cast<std::uint64_t>(20 * 1024 * kMiB)};
  double anon = h.other_program;
  for (std::size_t k = 0; k < h.workers.size(); ++k) {
    const Worker& w = h.workers[k];
    model::ProcessView p = view_of(h, w, t);
    if (p.agent) {
      p.agent->task_ends = ends[w.pid];
      p.agent->tasks_ended = ends[w.pid].pushed();
    }
    s.processes.push_back(std::move(p));
    anon += w.rss - kFileBytes - (k > 0 ? w.shared : 0);  // shared pages are charged once
  }
  if (h.wrapper) {
    Worker wrapper;
    wrapper.pid = 20000;
    wrapper.ppid = 1;
    wrapper.ticks = 400;
    wrapper.rss = wrapper.hwm = 1 * kMiB + kFileBytes;
    s.processes.insert(s.processes.begin(), view_of(h, wrapper, t));
    s.processes.front().agent.reset();
  }
  h.page_cache = std::clamp(h.page_cache + h.uniform(-20, 30) * kMiB, 0.0, 600 * kMiB);
  model::CgroupView c;
  c.facts.path = kCgroup;
  c.facts.has_reading = true;
  c.facts.last_read = t;
  c.facts.last.version = probe::CgroupVersion::kV1;
  c.facts.last.anon = static_cast<std::uint64_t>(std::max(0.0, anon));
  c.facts.last.usage = static_cast<std::uint64_t>(std::max(0.0, anon) + kFileBytes + h.page_cache);
  c.facts.last.inactive_file = static_cast<std::uint64_t>(h.page_cache / 2);
  h.cgroup_peak = std::max(h.cgroup_peak, static_cast<double>(c.facts.last.usage));
  c.facts.last.peak = static_cast<std::uint64_t>(h.cgroup_peak);
  if (h.limit) {
    c.facts.last.limit = static_cast<std::uint64_t>(*h.limit);
    c.limit = {static_cast<std::uint64_t>(*h.limit), "cgroup"};
  } else {
    c.limit = {s.host_memory->mem_total, "host"};
  }
  s.cgroups.push_back(c);
  return s;
}

double largest_vmhwm(const model::Snapshot& s, const model::CgroupAnalysis& a) {
  double best = 0;
  for (const auto& p : s.processes) best = std::max(best, static_cast<double>(p.facts.status->vm_hwm));
  for (const auto& e : a.exited) best = std::max(best, static_cast<double>(e.peak_rss_bytes));
  return best;
}

void check_invariants(const model::Snapshot& s, const History& h, int i, unsigned seed) {
  SCOPED_TRACE("seed " + std::to_string(seed) + " cycle " + std::to_string(i));
  const model::CgroupView& c = s.cgroups.at(0);
  const model::CgroupAnalysis& a = c.analysis;
  // Recommendations.
  EXPECT_LE(a.recommended_request.bytes, a.recommended_limit.bytes);
  EXPECT_GT(a.recommended_request.bytes, 0);
  EXPECT_GE(a.recommended_limit.bytes, a.footprint.bytes * (1 + h.config.headroom) - 1);
  EXPECT_FALSE(a.recommended_limit.reason.empty());
  EXPECT_FALSE(a.recommended_request.reason.empty());
  if (a.recommended_limit.recycle_instead) EXPECT_EQ(a.recommended_limit.leak_allowance_bytes, 0);
  // Footprint: never below a member's kernel peak, never above what the cgroup held (or that peak).
  const double hwm = largest_vmhwm(s, a);
  EXPECT_GE(a.footprint.bytes, hwm);
  if (a.scope == model::FigureScope::cgroup) {
    EXPECT_LE(a.footprint.bytes, std::max(static_cast<double>(*c.facts.last.peak), hwm));
  }
  // Margins.
  for (double m : {a.margins.safety, a.margins.nonreclaimable}) {
    EXPECT_GE(m, 0);
    EXPECT_LE(m, 1);
  }
  if (c.limit.source == "cgroup") {
    EXPECT_DOUBLE_EQ(a.margins.limit_bytes, static_cast<double>(c.limit.bytes));
    EXPECT_NEAR(a.margins.nonreclaimable, std::max(0.0, 1 - a.nonreclaimable_bytes / a.margins.limit_bytes), 1e-9);
    EXPECT_NEAR(a.margins.safety, std::max(0.0, 1 - a.working_set_bytes / a.margins.limit_bytes), 1e-9);
  }
  if (a.time_to_oom) {
    EXPECT_GE(a.time_to_oom->seconds, 0);
    EXPECT_GT(a.time_to_oom->growth_bytes_per_s, 0);
  }
  // Layers add up to the group's peak, and the groups cover every watched process once.
  std::size_t members = 0;
  for (const auto& g : a.groups) {
    members += g.members.size();
    EXPECT_GE(g.peak.bytes, 0);
    if (!g.layers) continue;
    EXPECT_NEAR(g.layers->infrastructure_bytes + g.layers->business_bytes, g.layers->peak_bytes, 1);
    if (g.layers->bootstrap_bytes && g.layers->ecosystem_bytes) {
      EXPECT_NEAR(*g.layers->bootstrap_bytes + *g.layers->ecosystem_bytes, g.layers->infrastructure_bytes, 1);
    }
    EXPECT_GE(g.layers->infrastructure_share, 0);
    EXPECT_LE(g.layers->infrastructure_share, 1);
  }
  EXPECT_EQ(members, s.processes.size());
  // Roles from the tree: the main leads, whatever the pids (a wrapper above
  // it is seen through when the main has an agent; without one, nothing tells
  // a wrapper from a worker and the top process leads).
  const bool main_leads = h.workers[0].agent || !h.wrapper;
  for (const auto& p : s.processes) {
    if (p.facts.pid == h.workers[0].pid && h.workers.size() > 1 && main_leads) {
      EXPECT_EQ(p.role, analysis::ProcessRole::main);
    }
    if (p.facts.ppid == h.workers[0].pid) EXPECT_EQ(p.role, analysis::ProcessRole::child);
  }
  // The leak probability agrees with the level.
  for (const auto& p : s.processes) {
    const auto& l = p.analysis.leak;
    if (!l.evaluated) continue;
    if (l.level == analysis::LeakLevel::low) EXPECT_LT(l.probability, thresholds::kLeakProbabilityMedium);
    if (l.level == analysis::LeakLevel::high) EXPECT_GE(l.probability, thresholds::kLeakProbabilityHigh);
  }
  // Celery: the children's budget and the main fit the recommended limit.
  if (a.celery) {
    EXPECT_LE(a.celery->bytes, a.recommended_limit.bytes);
    if (a.celery->max_tasks_per_child) EXPECT_GE(*a.celery->max_tasks_per_child, 1);
  }
}

TEST(ReadoutInvariants, HoldOverHundredsOfSyntheticHistories) {
  for (unsigned seed = 1; seed <= 200; ++seed) {
    History h = make_history(seed);
    Analyzer analyzer(h.config);
    std::vector<model::ProcessFacts> exited;
    std::map<pid_t, model::RingBuffer<model::TaskEnd>> ends;
    for (int i = 0; i < 90; ++i) {
      model::Snapshot s = step(h, i, exited, ends);
      analyzer.analyze(s, exited, {}, std::nullopt);
      check_invariants(s, h, i, seed);
      if (::testing::Test::HasFailure()) return;  // one history's first failure says enough
    }
  }
}

// Pod figures of a worker group sharing its cgroup with a program the sidecar
// does not watch: that program allocating 1 GiB moves none of them.
TEST(ReadoutInvariants, NoPodFigureMovesWhenAnUnwatchedProgramAllocatesAGibibyte) {
  for (unsigned seed = 1; seed <= 100; ++seed) {
    History quiet = make_history(seed), loud = make_history(seed);
    quiet.other_program = loud.other_program = 4096 * kMiB;  // present from the start: the workers share the cgroup
    quiet.limit = loud.limit = 16384 * kMiB;
    Analyzer a(quiet.config), b(loud.config);
    std::vector<model::ProcessFacts> exited_a, exited_b;
    std::map<pid_t, model::RingBuffer<model::TaskEnd>> ends_a, ends_b;
    for (int i = 0; i < 60; ++i) {
      if (i == 30) loud.other_program += 1024 * kMiB;
      model::Snapshot sa = step(quiet, i, exited_a, ends_a), sb = step(loud, i, exited_b, ends_b);
      a.analyze(sa, exited_a, {}, std::nullopt);
      b.analyze(sb, exited_b, {}, std::nullopt);
      const auto& x = sa.cgroups[0].analysis;
      const auto& y = sb.cgroups[0].analysis;
      SCOPED_TRACE("seed " + std::to_string(seed) + " cycle " + std::to_string(i));
      if (i < 3) continue;  // the scope settles after three cycles
      ASSERT_EQ(y.scope, model::FigureScope::processes);
      EXPECT_DOUBLE_EQ(x.footprint.bytes, y.footprint.bytes);
      EXPECT_DOUBLE_EQ(x.margins.safety, y.margins.safety);
      EXPECT_DOUBLE_EQ(x.margins.nonreclaimable, y.margins.nonreclaimable);
      EXPECT_DOUBLE_EQ(x.recommended_limit.bytes, y.recommended_limit.bytes);
      EXPECT_DOUBLE_EQ(x.recommended_request.bytes, y.recommended_request.bytes);
      EXPECT_EQ(x.time_to_oom.has_value(), y.time_to_oom.has_value());
      if (::testing::Test::HasFailure()) return;
    }
  }
}

}  // namespace
}  // namespace ramflow::daemon
