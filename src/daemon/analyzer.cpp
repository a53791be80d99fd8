#include "daemon/analyzer.h"

#include <algorithm>
#include <set>

#include <spdlog/spdlog.h>

#include "analysis/units.h"

namespace ramflow::daemon {
namespace {

using analysis::ProcessRole;

constexpr std::size_t kPeaksKept = 7 * 1440;  // request: per-bucket peaks over a week at 60 s
constexpr double kAllocationWindowSeconds = 30;
// An agent retries its connection with a backoff of at most 5 s.
constexpr double kAgentReconnectGraceSeconds = 60;

double seconds(std::chrono::milliseconds d) { return std::chrono::duration<double>(d).count(); }

analysis::ProcessMemory memory_of(const model::ProcessView& p, double max_rss_since_ready) {
  analysis::ProcessMemory m;
  const auto& a = p.agent;
  if (a && a->bootstrap_rss) m.bootstrap_bytes = static_cast<double>(*a->bootstrap_rss);
  else if (p.facts.early_rss) m.bootstrap_bytes = static_cast<double>(*p.facts.early_rss);
  if (a && a->ready_rss) m.ready_rss_bytes = static_cast<double>(*a->ready_rss);
  if (a && a->ready_hwm) m.ready_hwm_bytes = static_cast<double>(*a->ready_hwm);
  if (p.facts.status) m.vm_hwm_bytes = static_cast<double>(p.facts.status->vm_hwm);
  m.max_sampled_rss_since_ready = max_rss_since_ready;
  return m;
}

bool is_ready(const model::ProcessView& p) { return p.agent && p.agent->ready_rss.has_value(); }

}  // namespace

Analyzer::Analyzer(const config::Config& config) : config_(config) {
  leak_config_.restart_horizon_s = seconds(std::chrono::duration_cast<std::chrono::milliseconds>(config.restart_horizon));
  leak_config_.high_threshold_bytes = config.leak_high_mib * analysis::kMiB;
  thresholds_.medium_bytes = config.leak_medium_mib * analysis::kMiB;
  thresholds_.high_bytes = config.leak_high_mib * analysis::kMiB;
}

Analyzer::ProcessMemo Analyzer::new_memo(std::uint64_t start_ticks) const {
  ProcessMemo m{start_ticks,
                analysis::LeakDetector(leak_config_),
                0,
                0,
                0,
                0,
                analysis::AllocationSpeed(kAllocationWindowSeconds),
                analysis::BucketSeries(seconds(config_.bucket), leak_config_.window, analysis::BucketReduce::minimum),
                0,
                {},
                0,
                {},
                0};
  return m;
}

Analyzer::CgroupMemo Analyzer::new_cgroup_memo() const {
  CgroupMemo m{analysis::NonReclaimableHistory(),
               analysis::BucketSeries(seconds(config_.bucket), kPeaksKept, analysis::BucketReduce::maximum),
               0,
               false,
               0,
               0,
               {},
               std::nullopt};
  return m;
}

Analyzer::ProcessMemo& Analyzer::memo_for(const model::ProcessView& p) {
  auto it = processes_.find(p.facts.pid);
  if (it != processes_.end() && it->second.start_ticks != p.facts.start_ticks) {
    processes_.erase(it);  // pid reused: a new process learns afresh
    it = processes_.end();
  }
  if (it == processes_.end()) {
    it = processes_.emplace(p.facts.pid, new_memo(p.facts.start_ticks)).first;
    ++generation_;
  }
  return it->second;
}

std::optional<analysis::BucketPoint> Analyzer::add(analysis::BucketSeries& series, double time, double bytes) {
  const auto before = series.state().open;
  auto closed = series.add(time, bytes);
  const auto& after = series.state().open;
  if (closed || !before || before->start_s != after->start_s || before->bytes != after->bytes) ++generation_;
  return closed;
}

// Roles and worker groups from the process tree, per cgroup; then each process's `worker`.
void Analyzer::assign_groups(model::Snapshot& snap) {
  std::map<std::string, std::vector<analysis::ProcessNode>> nodes;
  for (const auto& p : snap.processes) {
    nodes[p.facts.cgroup].push_back({p.facts.pid, p.facts.ppid, p.agent.has_value()});
  }
  shapes_.clear();
  std::map<pid_t, ProcessRole> roles;
  for (const auto& [cgroup, list] : nodes) {
    auto tree = analysis::worker_groups(list);
    roles.insert(tree.roles.begin(), tree.roles.end());
    shapes_[cgroup] = std::move(tree.groups);
  }
  for (auto& p : snap.processes) {
    p.role = roles[p.facts.pid];
    auto memo = processes_.find(p.facts.pid);
    if (memo == processes_.end() || memo->second.start_ticks != p.facts.start_ticks) continue;
    if (p.role == ProcessRole::main) memo->second.led_a_group = true;
    else if (p.role == ProcessRole::standalone && memo->second.led_a_group) p.role = ProcessRole::main;
  }
  std::vector<analysis::WorkerGroupShape> groups;
  for (const auto& [cgroup, shapes] : shapes_) groups.insert(groups.end(), shapes.begin(), shapes.end());
  identities_.assign(snap.processes, groups);
}

void Analyzer::analyze_process(model::ProcessView& p, const model::ProcessView* group_main, double now) {
  ProcessMemo& memo = memo_for(p);
  memo.last_seen = now;
  model::ProcessAnalysis& out = p.analysis;
  if (p.facts.timeline.empty()) return;
  const auto& sample = p.facts.timeline.back();
  double rss = static_cast<double>(sample.rss);

  memo.speed.add(sample.time, rss);
  out.allocation_bytes_per_second = memo.speed.bytes_per_second();
  out.greedy = analysis::is_greedy(out.allocation_bytes_per_second, config_.greedy_mib_per_second * analysis::kMiB);

  const auto& agent = p.agent;
  out.bootstrap_source = agent && agent->bootstrap_rss ? "agent" : p.facts.early_rss ? "first_sample" : "unknown";
  if (agent && agent->hello) {
    const std::string& pool = agent->hello->pool;
    out.approximate = pool == "threads" || pool == "gevent" || pool == "eventlet";
  }

  if (is_ready(p)) {
    if (memo.ready_time != agent->ready_time) {
      memo.ready_time = agent->ready_time;
      memo.max_rss_since_ready = 0;
      ++generation_;
    }
    if (sample.time >= memo.ready_time && rss > memo.max_rss_since_ready) {
      memo.max_rss_since_ready = rss;
      ++generation_;
    }
    analysis::ProcessMemory mine = memory_of(p, memo.max_rss_since_ready);
    if (p.role == ProcessRole::child && group_main && is_ready(*group_main)) {
      out.layers = analysis::child_layers(memory_of(*group_main, 0), mine);
    } else {
      out.layers = analysis::process_layers(mine);
    }
  }

  // Residual series from the agent's task ends; without an agent, per-bucket RSS minima.
  std::string series = agent && is_ready(p) && agent->tasks_ended > 0 ? "residual"
                       : (!agent || !agent->connected)                ? "rss_bucket_minimum"
                                                                       : "";
  // Restored after a sidecar restart: the agent reconnects within seconds and
  // re-sends its phases; until then its residual series is kept, not replaced.
  if (memo.leak_series == "residual" && series != "residual" && now < memo.agent_grace_until) series.clear();
  if (!series.empty() && series != memo.leak_series) {
    // Task indices and bucket times are different x axes: a new series starts afresh.
    if (!memo.leak_series.empty()) memo.leak = analysis::LeakDetector(leak_config_);
    memo.leak_series = series;
    ++generation_;
  }
  if (series == "residual") {
    out.leak_series = "residual";
    const auto& ends = agent->task_ends;
    std::size_t first_kept = ends.pushed() - ends.size();
    std::size_t from = std::max(memo.task_ends_consumed, first_kept);
    for (std::size_t seq = from; seq < ends.pushed(); ++seq) {
      const model::TaskEnd& end = ends[seq - first_kept];
      double residual = analysis::residual_bytes(static_cast<double>(end.rss_after), static_cast<double>(*agent->ready_rss));
      memo.leak.add({memo.x_base + static_cast<double>(seq), end.time, residual});
      ++generation_;
    }
    memo.task_ends_consumed = ends.pushed();
    const model::TaskEnd& last = ends.back();
    out.residual_bytes = analysis::residual_bytes(static_cast<double>(last.rss_after), static_cast<double>(*agent->ready_rss));
    std::vector<analysis::TaskDelta> deltas;
    ends.for_each([&](const model::TaskEnd& e) {
      if (e.allocated_blocks_delta && e.rss_anon_delta) {
        deltas.push_back({static_cast<double>(*e.allocated_blocks_delta), static_cast<double>(*e.rss_anon_delta)});
      }
    });
    out.bloat = analysis::what_holds_bloat(deltas);
  } else if (series == "rss_bucket_minimum") {
    out.leak_series = "rss_bucket_minimum";
    if (auto closed = add(memo.rss_minima, sample.time, rss)) memo.leak.add(analysis::to_leak_sample(*closed));
  }
  if (out.leak_series.empty()) out.leak_series = memo.leak_series;  // held while its agent reconnects
  out.leak = memo.leak.last();
  if (out.leak.evaluated) {
    out.leak.level = memo.leak.level();
    out.leak.probability = analysis::leak_probability(out.leak, out.leak.level);
  }
  if (out.residual_bytes) {
    out.integrity = analysis::integrity(*out.residual_bytes, out.leak.level, thresholds_);
    double peak = p.facts.status ? static_cast<double>(p.facts.status->vm_hwm) : rss;
    out.seed = analysis::seed_verdict(*out.residual_bytes, peak, thresholds_);
  }

  std::vector<analysis::CowSample> cow;
  p.facts.smaps_history.for_each([&](const model::SmapsSample& s) {
    cow.push_back({s.time, static_cast<double>(s.rss), static_cast<double>(s.uss)});
  });
  if (p.role == ProcessRole::child) out.cow_drift = analysis::cow_drift(cow);

  // What the post-mortem keeps if this was the last cycle it lived.
  model::ExitedProcess& last = memo.last;
  last.pid = p.facts.pid;
  last.ppid = p.facts.ppid;
  last.start_ticks = p.facts.start_ticks;
  last.comm = p.facts.comm;
  last.worker = p.worker;
  last.role = p.role;
  last.started = p.facts.start_time;
  last.peak_rss_bytes = p.facts.status ? p.facts.status->vm_hwm : static_cast<std::uint64_t>(rss);
  last.last_rss_bytes = static_cast<std::uint64_t>(rss);
  last.last_task = agent ? agent->current_task : "";
  last.tasks_ended = agent ? agent->tasks_ended : 0;
  last.analysis = out;
}

void Analyzer::remember_exit(const model::ProcessFacts& gone, const model::AgentView& agents, double now) {
  auto it = processes_.find(gone.pid);
  if (it == processes_.end() || it->second.start_ticks != gone.start_ticks || it->second.last.pid == 0) return;
  auto final_agent = agents.processes.find(gone.pid);
  if (final_agent != agents.processes.end() && final_agent->second.tasks_ended != it->second.last.tasks_ended) {
    // What its agent sent as it left (a recycled child's last task ends) counts
    // in its verdicts; a child's layers stay those measured beside its main.
    model::ProcessView view{gone, final_agent->second, it->second.last.worker, it->second.last.role, {}};
    const auto layers = it->second.last.analysis.layers;
    analyze_process(view, nullptr, now);
    if (view.role == ProcessRole::child) it->second.last.analysis.layers = layers;
  }
  model::ExitedProcess record = it->second.last;
  record.ended = now;
  record.group_main = it->second.group_main;
  record.cmdline = gone.cmdline;
  record.timeline = model::last_of(gone.timeline, kExitedPointsKept);
  if (final_agent != agents.processes.end()) {
    model::AgentFacts agent = final_agent->second;
    agent.connected = false;
    agent.task_ends = model::last_of(agent.task_ends, kExitedTasksKept);
    agent.task_starts = model::RingBuffer<model::TaskStart>(1);
    agent.recent_calls = model::RingBuffer<model::CallSpan>(1);
    record.agent = std::move(agent);
  }
  if (gone.status) record.peak_rss_bytes = std::max<std::uint64_t>(record.peak_rss_bytes, gone.status->vm_hwm);
  if (record.agent) {
    // A process may outgrow its last sample before it leaves: its task ends saw that RSS.
    record.agent->task_ends.for_each([&](const model::TaskEnd& e) {
      record.peak_rss_bytes = std::max(record.peak_rss_bytes, std::max(e.rss_after, e.exact_peak.value_or(0)));
    });
  }
  auto group = groups_.find(it->second.group_main);
  if (group != groups_.end()) {
    group->second.largest_vmhwm = std::max(group->second.largest_vmhwm, static_cast<double>(record.peak_rss_bytes));
  }
  auto cgroup = cgroups_.find(gone.cgroup);
  if (cgroup != cgroups_.end()) {
    auto& exited = cgroup->second.exited;
    exited.push_back(std::move(record));
    while (exited.size() > kExitedKept) exited.pop_front();
  }
  processes_.erase(it);
  ++generation_;
}

void Analyzer::analyze(model::Snapshot& snap, const std::vector<model::ProcessFacts>& exited,
                       const model::AgentView& agents, std::optional<double> oom_victim_bytes) {
  for (const auto& gone : exited) remember_exit(gone, agents, snap.time);
  assign_groups(snap);
  std::map<pid_t, const model::ProcessView*> by_pid;
  for (const auto& p : snap.processes) by_pid[p.facts.pid] = &p;
  std::map<pid_t, pid_t> main_of;  // member -> its group's main
  for (const auto& [cgroup, shapes] : shapes_) {
    for (const auto& g : shapes) {
      for (pid_t m : g.members) main_of[m] = g.main;
    }
  }
  std::set<pid_t> alive;
  for (auto& p : snap.processes) {
    alive.insert(p.facts.pid);
    const pid_t main = main_of[p.facts.pid];
    const model::ProcessView* group_main = main != p.facts.pid ? by_pid[main] : nullptr;
    try {
      analyze_process(p, group_main, snap.time);
      processes_.at(p.facts.pid).group_main = main;
    } catch (const std::exception& e) {
      // One process's odd input must not cost the whole snapshot: forget what
      // was learned about it and start again next cycle.
      spdlog::warn("analysis of pid {} failed and restarts: {}", p.facts.pid, e.what());
      processes_.erase(p.facts.pid);
      ++generation_;
      p.analysis = model::ProcessAnalysis{};
    }
  }
  for (auto it = processes_.begin(); it != processes_.end();) {
    if (alive.count(it->first)) {
      ++it;
    } else {
      it = processes_.erase(it);  // left the watched set without an exit seen (e.g. past --max-processes)
      ++generation_;
    }
  }
  std::set<std::string> paths;
  for (auto& c : snap.cgroups) {
    paths.insert(c.facts.path);
    try {
      analyze_cgroup(c, snap, oom_victim_bytes);
    } catch (const std::exception& e) {
      spdlog::warn("analysis of cgroup {} failed and restarts: {}", c.facts.path, e.what());
      cgroups_.erase(c.facts.path);
      ++generation_;
      c.analysis = model::CgroupAnalysis{};
    }
  }
  for (auto it = cgroups_.begin(); it != cgroups_.end();) {
    if (paths.count(it->first)) {
      ++it;
    } else {
      it = cgroups_.erase(it);
      ++generation_;
    }
  }
  std::set<pid_t> mains;
  for (const auto& [cgroup, shapes] : shapes_) {
    for (const auto& g : shapes) mains.insert(g.main);
  }
  std::erase_if(groups_, [&](const auto& entry) { return !mains.count(entry.first); });
}

analysis::AnalysisState Analyzer::save_state() const {
  analysis::AnalysisState state;
  for (const auto& [pid, m] : processes_) {
    state.processes.push_back({pid, m.start_ticks, m.leak_series, m.leak.state(),
                               m.x_base + static_cast<double>(m.task_ends_consumed), m.ready_time,
                               m.max_rss_since_ready, m.rss_minima.state()});
  }
  for (const auto& [path, c] : cgroups_) {
    state.cgroups[path] = {c.nonreclaimable.state(), c.nonreclaimable_maxima.state()};
  }
  return state;
}

void Analyzer::restore(const analysis::AnalysisState& state, double now) {
  // All or nothing: built aside, swapped in when every entry was taken.
  std::map<pid_t, ProcessMemo> processes;
  std::map<std::string, CgroupMemo> cgroups;
  for (const auto& p : state.processes) {
    ProcessMemo memo = new_memo(p.start_ticks);
    memo.leak = analysis::LeakDetector(leak_config_, p.leak);  // throws on a window out of order
    memo.leak_series = p.leak_series;
    memo.x_base = p.next_x;  // the new agent connection numbers its task ends from 0 again
    memo.ready_time = p.ready_time;
    memo.max_rss_since_ready = p.max_rss_since_ready;
    memo.rss_minima = analysis::BucketSeries(seconds(config_.bucket), leak_config_.window,
                                             analysis::BucketReduce::minimum, p.rss_minima);
    memo.agent_grace_until = now + kAgentReconnectGraceSeconds;
    processes.insert_or_assign(static_cast<pid_t>(p.pid), std::move(memo));
  }
  for (const auto& [path, c] : state.cgroups) {
    CgroupMemo memo = new_cgroup_memo();
    memo.nonreclaimable = analysis::NonReclaimableHistory(c.nonreclaimable_minima);  // throws on a bad scale count
    memo.nonreclaimable_maxima = analysis::BucketSeries(seconds(config_.bucket), kPeaksKept,
                                                        analysis::BucketReduce::maximum, c.nonreclaimable_maxima);
    for (const auto& b : memo.nonreclaimable_maxima.closed()) {
      memo.highest_nonreclaimable = std::max(memo.highest_nonreclaimable, b.bytes);
    }
    cgroups.insert_or_assign(path, std::move(memo));
  }
  processes_ = std::move(processes);
  cgroups_ = std::move(cgroups);
  ++generation_;
}

}  // namespace ramflow::daemon
