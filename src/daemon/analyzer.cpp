#include "daemon/analyzer.h"

#include <algorithm>
#include <set>

#include "analysis/units.h"

#include <spdlog/spdlog.h>

namespace ramflow::daemon {
namespace {

using Role = probe::DiscoveredProcess::Role;

constexpr std::size_t kMinimaKept = 120;      // forecast window: Theil–Sen is O(n²)
constexpr std::size_t kPeaksKept = 7 * 1440;  // request: per-bucket peaks over a week at 60 s
constexpr double kAllocationWindowSeconds = 30;
// An agent retries its connection with a backoff of at most 5 s.
constexpr double kAgentReconnectGraceSeconds = 60;
// Share of the cgroup's non-reclaimable memory the watched workers must hold
// (RSS, or PSS where read) for the cgroup's peak to stand for theirs.
constexpr double kAloneShare = 0.8;

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
  return ProcessMemo{start_ticks,
                     analysis::LeakDetector(leak_config_),
                     0,
                     0,
                     0,
                     0,
                     analysis::AllocationSpeed(kAllocationWindowSeconds),
                     analysis::BucketSeries(seconds(config_.bucket), leak_config_.window, analysis::BucketReduce::minimum),
                     0,
                     {},
                     0};
}

Analyzer::CgroupMemo Analyzer::new_cgroup_memo() const {
  return CgroupMemo{analysis::BucketSeries(seconds(config_.bucket), kMinimaKept, analysis::BucketReduce::minimum),
                    analysis::BucketSeries(seconds(config_.bucket), kPeaksKept, analysis::BucketReduce::maximum)};
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

void Analyzer::analyze_process(model::ProcessView& p, const std::map<pid_t, const model::ProcessView*>& by_pid, double now) {
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
    auto parent = by_pid.find(p.facts.ppid);
    if (p.facts.role == Role::kChild && parent != by_pid.end() && is_ready(*parent->second)) {
      out.layers = analysis::child_layers(memory_of(*parent->second, 0), mine);
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
  if (out.leak.evaluated) out.leak.level = memo.leak.level();
  if (out.residual_bytes) {
    out.integrity = analysis::integrity(*out.residual_bytes, out.leak.level, thresholds_);
    double peak = p.facts.status ? static_cast<double>(p.facts.status->vm_hwm) : rss;
    out.seed = analysis::seed_verdict(*out.residual_bytes, peak, thresholds_);
  }

  std::vector<analysis::CowSample> cow;
  p.facts.smaps_history.for_each([&](const model::SmapsSample& s) {
    cow.push_back({s.time, static_cast<double>(s.rss), static_cast<double>(s.uss)});
  });
  if (p.facts.role == Role::kChild) out.cow_drift = analysis::cow_drift(cow);
}

void Analyzer::analyze_cgroup(model::CgroupView& c, const model::Snapshot& snap, std::optional<double> oom_victim_bytes) {
  auto it = cgroups_.find(c.facts.path);
  if (it == cgroups_.end()) {
    it = cgroups_.emplace(c.facts.path, new_cgroup_memo()).first;
    ++generation_;
  }
  CgroupMemo& memo = it->second;
  const auto& m = c.facts.last;
  model::CgroupAnalysis& out = c.analysis;
  double workers_rss = 0, workers_hwm = 0;
  for (const auto& p : snap.processes) {
    if (p.facts.cgroup != c.facts.path || !p.facts.status) continue;
    workers_rss += static_cast<double>(p.facts.smaps ? p.facts.smaps->pss : p.facts.status->vm_rss);
    workers_hwm += static_cast<double>(p.facts.status->vm_hwm);
  }
  out.workers_alone = workers_rss >= kAloneShare * static_cast<double>(m.nonreclaimable());
  if (!c.facts.vanished) {
    add(memo.nonreclaimable_minima, c.facts.last_read, static_cast<double>(m.nonreclaimable()));
    // Request basis: the cgroup's working set, or the workers' own memory when they share it.
    add(memo.working_set_maxima, c.facts.last_read, out.workers_alone ? static_cast<double>(m.working_set()) : workers_rss);
  }

  analysis::MemorySnapshot mem;
  if (c.limit.source == "cgroup") mem.cgroup_limit_bytes = static_cast<double>(c.limit.bytes);
  mem.working_set_bytes = static_cast<double>(m.working_set());
  mem.nonreclaimable_bytes = static_cast<double>(m.nonreclaimable());
  if (snap.host_memory) {
    mem.mem_total_bytes = static_cast<double>(snap.host_memory->mem_total);
    mem.mem_available_bytes = static_cast<double>(snap.host_memory->mem_available);
  }
  out.margins = analysis::margins(mem);
  std::optional<analysis::Pressure> pressure;
  if (c.pressure) pressure = analysis::Pressure{c.pressure->some_avg10 / 100.0, c.pressure->full_avg10 / 100.0};
  analysis::OomRiskConfig risk;
  risk.margin_threshold = config_.oom_risk_margin;
  out.oom_risk = analysis::oom_risk(out.margins, pressure, risk);
  if (out.workers_alone) {
    out.footprint = analysis::pod_footprint(m.peak ? std::optional<double>(static_cast<double>(*m.peak)) : std::nullopt,
                                            static_cast<double>(c.facts.highest_working_set));
    out.footprint_source = !m.peak ? "sampled_working_set"
                           : m.version == probe::CgroupVersion::kV2 ? "cgroup_peak"
                                                                    : "cgroup_max_usage";
  } else {
    out.footprint = {workers_hwm, false};
    out.footprint_source = "process_peaks";
  }

  const auto& minima = memo.nonreclaimable_minima.closed();
  std::vector<analysis::BucketPoint> points(minima.begin(), minima.end());
  out.time_to_oom = analysis::time_to_oom(out.margins.limit_bytes, mem.nonreclaimable_bytes, points);

  // Leak allowance: the pod grows by the sum of its leaking processes' rates.
  double leak_rate = 0;
  const model::ProcessView* main = nullptr;
  int children = 0;
  double child_baseline = 0;
  for (const auto& p : snap.processes) {
    if (p.facts.cgroup != c.facts.path) continue;
    if (p.analysis.leak.evaluated && p.analysis.leak.level != analysis::LeakLevel::low) {
      leak_rate += std::max(0.0, p.analysis.leak.rate_bytes_per_s);
    }
    // The Celery main is the prefork process that forked the pool; its
    // discovery role may be "child" when a wrapper (timeout, tini, sh) matched too.
    bool celery = p.agent && p.agent->hello && p.agent->hello->framework == "celery";
    bool forked_pool = std::any_of(snap.processes.begin(), snap.processes.end(),
                                   [&p](const model::ProcessView& q) { return q.facts.ppid == p.facts.pid; });
    if (celery && forked_pool && p.agent->hello->pool == "prefork") main = &p;
  }
  if (main) {
    for (const auto& p : snap.processes) {
      if (p.facts.ppid != main->facts.pid || !p.facts.status) continue;
      ++children;
      double baseline = p.agent && p.agent->ready_rss ? static_cast<double>(*p.agent->ready_rss)
                                                      : static_cast<double>(p.facts.status->vm_rss);
      child_baseline = std::max(child_baseline, baseline);
    }
  }
  analysis::LimitInputs limit;
  limit.pod_peak_bytes = out.footprint.bytes;
  limit.headroom = config_.headroom;
  if (leak_rate > 0) limit.leak_rate_bytes_per_s = leak_rate;
  limit.restart_horizon_s = leak_config_.restart_horizon_s;
  limit.oom_victim_bytes = oom_victim_bytes;
  out.recommended_limit = analysis::recommend_limit(limit);
  if (snap.host_memory && out.recommended_limit.bytes > static_cast<double>(snap.host_memory->mem_total)) {
    // A limit above the node's memory is no advice: say what would help instead.
    out.recommended_limit.bytes = analysis::round_up_to_mib(static_cast<double>(snap.host_memory->mem_total));
    out.recommended_limit.reason +=
        "; capped at the node's memory: the leak cannot be budgeted over the restart horizon — fix it, or recycle "
        "workers sooner (Celery worker_max_tasks_per_child, or a shorter --restart-horizon)";
  }
  out.leak_allowance_bytes = leak_rate * leak_config_.restart_horizon_s;

  std::vector<double> peaks;
  for (const auto& b : memo.working_set_maxima.closed()) peaks.push_back(b.bytes);
  if (memo.working_set_maxima.state().open) peaks.push_back(memo.working_set_maxima.state().open->bytes);
  if (peaks.empty()) peaks.push_back(out.workers_alone ? static_cast<double>(m.working_set()) : workers_rss);
  out.recommended_request = analysis::recommend_request(peaks);

  if (main && children > 0 && main->facts.status) {
    analysis::CeleryInputs in;
    in.limit_bytes = out.recommended_limit.bytes;
    in.main_rss_bytes = static_cast<double>(main->facts.status->vm_rss);
    in.concurrency = children;
    in.child_baseline_bytes = child_baseline;
    out.celery = analysis::recommend_celery_max_memory_per_child(in);
  }
}

void Analyzer::analyze(model::Snapshot& snap, std::optional<double> oom_victim_bytes) {
  std::map<pid_t, const model::ProcessView*> by_pid;
  for (const auto& p : snap.processes) by_pid[p.facts.pid] = &p;
  std::set<pid_t> alive;
  for (auto& p : snap.processes) {
    alive.insert(p.facts.pid);
    try {
      analyze_process(p, by_pid, snap.time);
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
      it = processes_.erase(it);
      ++generation_;
    }
  }
  std::set<std::string> paths;
  for (auto& c : snap.cgroups) {
    paths.insert(c.facts.path);
    if (!c.facts.has_reading) continue;  // unreachable: no pod-level figure to compute
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
}

analysis::AnalysisState Analyzer::save_state() const {
  analysis::AnalysisState state;
  for (const auto& [pid, m] : processes_) {
    state.processes.push_back({pid, m.start_ticks, m.leak_series, m.leak.state(),
                               m.x_base + static_cast<double>(m.task_ends_consumed), m.ready_time,
                               m.max_rss_since_ready, m.rss_minima.state()});
  }
  for (const auto& [path, c] : cgroups_) {
    state.cgroups[path] = {c.nonreclaimable_minima.state(), c.working_set_maxima.state()};
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
    memo.nonreclaimable_minima = analysis::BucketSeries(seconds(config_.bucket), kMinimaKept,
                                                        analysis::BucketReduce::minimum, c.nonreclaimable_minima);
    memo.working_set_maxima = analysis::BucketSeries(seconds(config_.bucket), kPeaksKept,
                                                     analysis::BucketReduce::maximum, c.working_set_maxima);
    cgroups.insert_or_assign(path, std::move(memo));
  }
  processes_ = std::move(processes);
  cgroups_ = std::move(cgroups);
  ++generation_;
}

}  // namespace ramflow::daemon
