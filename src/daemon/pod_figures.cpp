// The pod figures of one cgroup (Analyzer::analyze_cgroup): which scope they
// describe, margins, footprint, time to OOM, the worker groups' peaks and
// layers, and the recommendations. docs/analysis.md "Scope", "Footprint",
// "Recommendations".
#include <algorithm>

#include "analysis/units.h"
#include "daemon/analyzer.h"

namespace ramflow::daemon {
namespace {

using analysis::ProcessRole;

// Cycles in a row with other programs holding a share before the figures
// switch to the workers' own memory (a process caught between fork and
// discovery is not "another program").
constexpr int kSharedCyclesToSwitch = 3;

double anon_of(const model::ProcessView& p) {
  return p.facts.status ? static_cast<double>(p.facts.status->rss_anon + p.facts.status->rss_shmem) : 0;
}

// RSS now, less the pages it shared at its last smaps_rollup reading (PSS is
// read every --smaps-interval; RSS every cycle, so this follows an allocation at once).
double resident_of(const model::ProcessView& p) {
  if (!p.facts.status) return 0;
  const double rss = static_cast<double>(p.facts.status->vm_rss);
  if (!p.facts.smaps) return rss;
  const double shared = static_cast<double>(p.facts.smaps->rss) - static_cast<double>(p.facts.smaps->pss);
  return std::max(0.0, rss - std::max(0.0, shared));
}

double vmhwm_of(const model::ProcessView& p) {
  return p.facts.status ? static_cast<double>(p.facts.status->vm_hwm) : 0;
}

const model::ProcessView* find(const model::Snapshot& snap, pid_t pid) {
  for (const auto& p : snap.processes) {
    if (p.facts.pid == pid) return &p;
  }
  return nullptr;
}

bool is_prefork_celery_main(const model::ProcessView& p) {
  return p.agent && p.agent->hello && p.agent->hello->framework == "celery" && p.agent->hello->pool == "prefork";
}

}  // namespace


void Analyzer::analyze_cgroup(model::CgroupView& c, const model::Snapshot& snap, std::optional<double> oom_victim_bytes) {
  auto it = cgroups_.find(c.facts.path);
  if (it == cgroups_.end()) {
    it = cgroups_.emplace(c.facts.path, new_cgroup_memo()).first;
    ++generation_;
  }
  CgroupMemo& memo = it->second;
  const auto& m = c.facts.last;
  model::CgroupAnalysis& out = c.analysis;

  std::vector<const model::ProcessView*> members;
  double workers_resident = 0, workers_anon = 0;
  for (const auto& p : snap.processes) {
    if (p.facts.cgroup != c.facts.path || !p.facts.status) continue;
    members.push_back(&p);
    workers_resident += resident_of(p);
    workers_anon += anon_of(p);
    memo.largest_vmhwm = std::max(memo.largest_vmhwm, vmhwm_of(p));
  }
  for (const auto& e : memo.exited) memo.largest_vmhwm = std::max(memo.largest_vmhwm, static_cast<double>(e.peak_rss_bytes));

  if (!c.facts.has_reading) {  // unreachable: its groups from their processes, no pod-level figure
    out.scope = model::FigureScope::processes;
    analyze_groups(c, snap, 0, /*own=*/false);
    return;
  }

  // Scope: the cgroup's own counters, unless other programs hold a share of it.
  using Scope = config::Config::Scope;
  // Both sides read this cycle: the workers' anonymous memory against the cgroup's.
  const bool shared_now = !members.empty() && workers_anon < thresholds::kWorkersAloneShare * static_cast<double>(m.nonreclaimable());
  memo.shared_cycles = shared_now ? memo.shared_cycles + 1 : 0;
  const bool switch_now = config_.scope == Scope::kProcesses ||
                          (config_.scope == Scope::kAuto && memo.shared_cycles >= kSharedCyclesToSwitch);
  if (switch_now && !memo.shared) {
    memo.shared = true;
    ++generation_;
  }
  out.scope = memo.shared ? model::FigureScope::processes : model::FigureScope::cgroup;
  const bool own = out.scope == model::FigureScope::cgroup;
  out.working_set_bytes = own ? static_cast<double>(m.working_set()) : workers_resident;
  out.nonreclaimable_bytes = own ? static_cast<double>(m.nonreclaimable()) : workers_anon;

  if (!c.facts.vanished || !own) {
    if (memo.nonreclaimable.add(c.facts.last_read, out.nonreclaimable_bytes)) ++generation_;
    add(memo.nonreclaimable_maxima, c.facts.last_read, out.nonreclaimable_bytes);
  }
  memo.highest_nonreclaimable = std::max(memo.highest_nonreclaimable, out.nonreclaimable_bytes);

  analysis::MemorySnapshot mem;
  if (c.limit.source == "cgroup") mem.cgroup_limit_bytes = static_cast<double>(c.limit.bytes);
  mem.working_set_bytes = out.working_set_bytes;
  mem.nonreclaimable_bytes = out.nonreclaimable_bytes;
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
  out.margin_verdict = analysis::margin_verdict(out.margins, out.oom_risk, risk);

  out.footprint = analysis::group_footprint(memo.largest_vmhwm, memo.highest_nonreclaimable);
  out.footprint_verdict = analysis::footprint_verdict(out.footprint.bytes, out.margins.limit_bytes);
  // With the node as the limit, what others use is gone too: the room is at most MemAvailable.
  double room = out.margins.limit_bytes - out.nonreclaimable_bytes;
  if (c.limit.source == "host" && snap.host_memory) room = std::min(room, static_cast<double>(snap.host_memory->mem_available));
  out.time_to_oom = analysis::time_to_oom(out.nonreclaimable_bytes + room, out.nonreclaimable_bytes, memo.nonreclaimable);

  analyze_groups(c, snap, memo.highest_nonreclaimable, own);

  // Leak evidence for the limit: the leaking members' summed rate, each over what it observed.
  analysis::LeakEvidence leak;
  double rate = 0, rate_x_span = 0;
  std::optional<double> child_growth_per_task;
  auto weigh = [&](const model::ProcessAnalysis& a, ProcessRole role, bool live) {
    const auto& l = a.leak;
    if (!l.evaluated || l.level == analysis::LeakLevel::low || !(l.rate_bytes_per_s > 0)) return;
    leak.level = std::max(leak.level, l.level);
    if (live) {  // an ended process grows no more; its verdict still says what its successors will do
      rate += l.rate_bytes_per_s;
      rate_x_span += l.rate_bytes_per_s * l.observed_seconds;
    }
    if (role == ProcessRole::child && a.leak_series == "residual" && l.rate_per_x > 0) {
      child_growth_per_task = std::max(child_growth_per_task.value_or(0), l.rate_per_x);
    }
  };
  for (const auto* p : members) weigh(p->analysis, p->role, true);
  for (const auto& e : memo.exited) weigh(e.analysis, e.role, false);
  analysis::LimitInputs limit;
  limit.peak_bytes = out.footprint.bytes;
  limit.headroom = config_.headroom;
  if (rate > 0 || leak.level == analysis::LeakLevel::high) {
    leak.rate_bytes_per_s = rate;
    leak.observed_span_s = rate > 0 ? rate_x_span / rate : 0;
    limit.leak = leak;
  }
  limit.restart_horizon_s = leak_config_.restart_horizon_s;
  limit.oom_victim_bytes = oom_victim_bytes;
  if (snap.host_memory) limit.node_memory_bytes = static_cast<double>(snap.host_memory->mem_total);
  out.recommended_limit = analysis::recommend_limit(limit);

  std::vector<double> peaks;
  for (const auto& b : memo.nonreclaimable_maxima.closed()) peaks.push_back(b.bytes);
  if (memo.nonreclaimable_maxima.state().open) peaks.push_back(memo.nonreclaimable_maxima.state().open->bytes);
  out.recommended_request = analysis::recommend_request(peaks, out.recommended_limit.bytes);

  // Celery prefork: the main that forked the pool, its children and their budget.
  const auto& shapes = shapes_[c.facts.path];
  out.celery.reset();
  bool seen = false;
  for (const auto& shape : shapes) {
    const model::ProcessView* main = find(snap, shape.main);
    if (!main || !main->facts.status || !is_prefork_celery_main(*main)) continue;
    int children = 0;
    double child_baseline = 0;
    for (pid_t pid : shape.members) {
      const model::ProcessView* p = find(snap, pid);
      if (!p || p->facts.ppid != main->facts.pid || !p->facts.status) continue;
      ++children;
      double baseline = p->agent && p->agent->ready_rss ? static_cast<double>(*p->agent->ready_rss)
                                                        : static_cast<double>(p->facts.status->vm_rss);
      child_baseline = std::max(child_baseline, baseline);
    }
    if (children == 0) continue;
    analysis::CeleryInputs in;
    in.limit_bytes = out.recommended_limit.bytes;
    in.main_rss_bytes = static_cast<double>(main->facts.status->vm_rss);
    in.concurrency = children;
    in.child_baseline_bytes = child_baseline;
    in.child_growth_bytes_per_task = child_growth_per_task;
    memo.celery = in;
    seen = true;
    break;
  }
  if (memo.celery) {
    if (!seen) memo.celery->limit_bytes = out.recommended_limit.bytes;  // the workers ended: their last shape
    out.celery = analysis::recommend_celery(*memo.celery);
  }
}

// Worker groups: each one's peak over its live and exited members, and its layers.
// `cgroup_highest_nonreclaimable` stands for a group alone in a cgroup that is its own.
void Analyzer::analyze_groups(model::CgroupView& c, const model::Snapshot& snap, double cgroup_highest_nonreclaimable,
                              bool own) {
  model::CgroupAnalysis& out = c.analysis;
  out.groups.clear();
  const auto& shapes = shapes_[c.facts.path];
  for (const auto& shape : shapes) {
    const model::ProcessView* main = find(snap, shape.main);
    if (!main) continue;
    GroupMemo& g = groups_[shape.main];
    if (g.main_start_ticks != main->facts.start_ticks) g = GroupMemo{main->facts.start_ticks};
    double anon = 0;
    for (pid_t pid : shape.members) {
      if (const auto* p = find(snap, pid)) {
        anon += anon_of(*p);
        g.largest_vmhwm = std::max(g.largest_vmhwm, vmhwm_of(*p));
      }
    }
    g.highest_nonreclaimable = std::max(g.highest_nonreclaimable, anon);
    model::WorkerGroupView view;
    view.main = shape.main;
    view.members = shape.members;
    // Alone in a cgroup that is its own: the cgroup counts copy-on-write pages once.
    const double sampled = own && shapes.size() == 1 ? cgroup_highest_nonreclaimable : g.highest_nonreclaimable;
    view.peak = analysis::group_footprint(g.largest_vmhwm, sampled);
    if (shape.members.size() == 1 || !main->analysis.layers) {
      view.layers = main->analysis.layers;
    } else {
      analysis::ProcessMemory memory;
      if (main->agent && main->agent->bootstrap_rss) memory.bootstrap_bytes = static_cast<double>(*main->agent->bootstrap_rss);
      else if (main->facts.early_rss) memory.bootstrap_bytes = static_cast<double>(*main->facts.early_rss);
      memory.ready_rss_bytes = static_cast<double>(main->agent->ready_rss.value_or(0));
      view.layers = analysis::group_layers(memory, view.peak.bytes, view.peak.source != "vmhwm");
    }
    out.groups.push_back(std::move(view));
  }
  auto memo = cgroups_.find(c.facts.path);
  if (memo != cgroups_.end()) out.exited = memo->second.exited;
}

}  // namespace ramflow::daemon
