#include "export/report/report_group.h"

#include <algorithm>

#include "export/report/report_json.h"

namespace ramflow::exporter::detail {
namespace {

// A process that ended, as a member the sections can read like a live one.
model::ProcessView view_of(const model::ExitedProcess& e, const std::string& cgroup) {
  model::ProcessView v;
  v.facts.pid = e.pid;
  v.facts.ppid = e.ppid;
  v.facts.start_ticks = e.start_ticks;
  v.facts.start_time = e.started;
  v.facts.comm = e.comm;
  v.facts.cmdline = e.cmdline;
  v.facts.timeline = e.timeline;
  v.facts.cgroup = cgroup;
  probe::ProcStatus status;
  status.vm_rss = e.last_rss_bytes;
  status.vm_hwm = e.peak_rss_bytes;
  v.facts.status = status;
  v.worker = e.worker;
  v.role = e.role;
  v.agent = e.agent;
  v.analysis = e.analysis;
  return v;
}

const model::ProcessView* live(const model::Snapshot& s, pid_t pid) {
  for (const auto& p : s.processes) {
    if (p.facts.pid == pid) return &p;
  }
  return nullptr;
}

}  // namespace

std::optional<double> bootstrap_bytes(const model::ProcessView& p) {
  if (p.analysis.bootstrap_source == "agent" && p.agent && p.agent->bootstrap_rss) {
    return static_cast<double>(*p.agent->bootstrap_rss);
  }
  if (p.analysis.bootstrap_source == "first_sample" && p.facts.early_rss) return static_cast<double>(*p.facts.early_rss);
  return std::nullopt;
}

const model::CgroupView& choose_cgroup(const model::Snapshot& s, const std::string& wanted) {
  if (s.cgroups.empty()) {
    throw ReportError(ReportError::Kind::kNothingYet,
                      "no worker cgroup has been read yet: wait one sampling interval, or check that a worker process is running");
  }
  if (wanted.empty()) {
    // A cgroup that was read comes before one that cannot be.
    return *std::min_element(s.cgroups.begin(), s.cgroups.end(), [](const auto& a, const auto& b) {
      return std::pair(!a.facts.has_reading, a.analysis.margins.safety) <
             std::pair(!b.facts.has_reading, b.analysis.margins.safety);
    });
  }
  std::string known;
  for (const auto& c : s.cgroups) {
    if (c.facts.path == wanted) return c;
    known += (known.empty() ? "" : ", ") + c.facts.path;
  }
  throw ReportError(ReportError::Kind::kUnknownCgroup, "no watched cgroup is called \"" + wanted + "\"; watched: " + known);
}

WorkerGroup choose_group(const model::Snapshot& s, const model::CgroupView& cgroup) {
  const auto& a = cgroup.analysis;
  WorkerGroup g;
  g.cgroup = &cgroup;
  const model::WorkerGroupView* best = nullptr;
  for (const auto& view : a.groups) {
    if (!best || view.peak.bytes > best->peak.bytes) best = &view;
  }
  pid_t main = 0;
  if (best) {
    main = best->main;
    g.peak = best->peak;
    g.layers = best->layers;
    for (pid_t pid : best->members) {
      if (const auto* p = live(s, pid)) g.members.push_back(p);
    }
  } else if (!a.exited.empty()) {
    // Every process ended: the group of the most recent one to end.
    main = a.exited.back().group_main ? a.exited.back().group_main : a.exited.back().pid;
  }
  std::vector<const model::ExitedProcess*> ended;
  for (const auto& e : a.exited) {
    if ((e.group_main == main || e.pid == main) && !live(s, e.pid)) ended.push_back(&e);
  }
  if (g.members.empty() && ended.empty()) {
    throw ReportError(ReportError::Kind::kNothingYet,
                      "no worker process is watched in cgroup \"" + cgroup.facts.path + "\" yet");
  }
  // The main first when it too has ended, then the rest by pid.
  std::stable_sort(ended.begin(), ended.end(), [main](const auto* x, const auto* y) {
    return std::pair(x->pid != main, x->pid) < std::pair(y->pid != main, y->pid);
  });
  g.exited_views = std::make_shared<std::vector<model::ProcessView>>();
  g.exited_views->reserve(ended.size());
  for (const auto* e : ended) {
    g.exited_views->push_back(view_of(*e, cgroup.facts.path));
    g.members.push_back(&g.exited_views->back());
    g.exited[e->pid] = e;
  }
  // The main leads even when it ended before some of its members.
  auto main_at = std::find_if(g.members.begin(), g.members.end(), [main](const auto* p) { return p->facts.pid == main; });
  if (main_at != g.members.end()) std::rotate(g.members.begin(), main_at, main_at + 1);
  if (!best) {
    double largest = 0;
    for (const auto* e : ended) largest = std::max(largest, static_cast<double>(e->peak_rss_bytes));
    g.peak = analysis::group_footprint(largest, 0);
    g.layers = g.main().analysis.layers;
  }
  return g;
}

}  // namespace ramflow::exporter::detail
