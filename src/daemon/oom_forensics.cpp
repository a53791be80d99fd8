#include "daemon/oom_forensics.h"

#include <unistd.h>

#include <set>

#include <spdlog/spdlog.h>

#include "analysis/leak_detector.h"

namespace ramflow::daemon {

void OomForensics::add_kill(model::OomKillEvent event) {
  std::lock_guard lock(kills_mu_);
  if (pending_kills_.size() < 1024) pending_kills_.push_back(std::move(event));
}

void OomForensics::add_kill(const bpf::OomEvent& e, std::string cgroup) {
  model::OomKillEvent kill;
  kill.time = e.time;
  kill.pid = e.pid;
  // The kernel's start time is in ns since boot; /proc/PID/stat's (and the model's) in clock ticks.
  kill.start_time = e.start_time_ns / (1'000'000'000ull / static_cast<std::uint64_t>(sysconf(_SC_CLK_TCK)));
  kill.comm = e.comm;
  kill.rss_bytes = e.rss_bytes();
  kill.cgroup = std::move(cgroup);
  add_kill(std::move(kill));
}

void OomForensics::update(model::Snapshot& snap, const std::vector<model::ProcessFacts>& vanished,
                          const model::AgentView& agents) {
  model::OomInterval in;
  in.time = snap.time;
  in.ebpf_active = snap.ebpf_active;
  {
    std::lock_guard lock(kills_mu_);
    in.kills.swap(pending_kills_);
  }
  for (const auto& c : snap.cgroups) {
    if (c.facts.last.oom_kill) in.counters.push_back({c.facts.path, *c.facts.last.oom_kill, c.facts.vanished});
  }
  for (const auto& p : vanished) {
    model::VanishedWorker w;
    w.pid = p.pid;
    w.start_time = p.start_ticks;
    w.comm = p.comm;
    w.cgroup = p.cgroup;
    // The newest reading that saw memory: a sample taken while the kernel was
    // tearing the victim down reads a status without VmRSS, i.e. 0.
    w.last_rss = p.status ? p.status->vm_rss : 0;
    for (std::size_t i = p.timeline.size(); w.last_rss == 0 && i > 0; --i) w.last_rss = p.timeline[i - 1].rss;
    auto a = agents.processes.find(p.pid);
    if (a != agents.processes.end()) w.task = a->second.current_task;
    auto v = last_verdicts_.find(p.pid);
    if (v != last_verdicts_.end()) {
      w.last_residual = v->second.residual;
      w.leak_level = v->second.leak_level;
    } else {
      w.leak_level = "unknown";
    }
    in.vanished.push_back(std::move(w));
  }

  // Task labels stay bounded: a task the function table did not admit is "other".
  std::set<std::string> admitted_tasks;
  for (const auto& f : snap.functions) {
    if (f.kind == model::CallKind::kTask) admitted_tasks.insert(f.function);
  }
  for (const auto& r : tracker_.update(in)) {
    count(r, admitted_tasks);
    spdlog::warn(
        "OOM kill: pid={} comm=\"{}\" task=\"{}\" cgroup=\"{}\" rss_at_death_bytes={} last_residual_bytes={} "
        "leak_level={} source={}",
        r.pid, r.comm, r.task, r.cgroup, r.rss_at_death, r.last_residual ? std::to_string(*r.last_residual) : "null",
        r.leak_level, r.source);
  }
  const auto& history = tracker_.history();
  snap.oom_kills.assign(history.begin(), history.end());
  for (const auto& [key, n] : counts_) {
    snap.oom_counts.push_back({std::get<0>(key), std::get<1>(key), std::get<2>(key), n});
  }

  last_verdicts_.clear();
  for (const auto& p : snap.processes) {
    LastVerdict v;
    if (p.analysis.residual_bytes) v.residual = static_cast<std::int64_t>(*p.analysis.residual_bytes);
    v.leak_level = p.analysis.leak.evaluated ? std::string(analysis::to_string(p.analysis.leak.level)) : "unknown";
    last_verdicts_[p.facts.pid] = v;
  }
}

void OomForensics::count(const model::OomRecord& r, const std::set<std::string>& admitted_tasks) {
  std::string task = r.task.empty() ? "unknown" : r.task;
  // Bounded: a task killed mid-run never finished, so the function table may
  // not know it; keep up to kMaxTaskLabels names of our own, then fold.
  if (task != "unknown" && !admitted_tasks.count(task) && !task_labels_.count(task)) {
    if (task_labels_.size() < kMaxTaskLabels) task_labels_.insert(task);
    else task = "other";
  }
  ++counts_[{r.cgroup, task, r.source}];
}

std::string OomForensics::save_state() const { return tracker_.to_json(); }

bool OomForensics::restore(std::string_view json, std::string* error) {
  if (!tracker_.restore(json, error)) return false;
  // The counters go on from the kept history, so a restart is no counter reset
  // for the kills it remembers.
  counts_.clear();
  task_labels_.clear();
  for (const auto& r : tracker_.history()) count(r, {});
  return true;
}

std::optional<double> OomForensics::largest_victim_bytes() const {
  std::optional<double> best;
  for (const auto& r : tracker_.history()) {
    if (r.rss_at_death > 0 && (!best || r.rss_at_death > *best)) best = static_cast<double>(r.rss_at_death);
  }
  return best;
}

}  // namespace ramflow::daemon
