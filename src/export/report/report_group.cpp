#include "export/report/report_group.h"

#include <algorithm>

#include "export/report/report_json.h"

namespace ramflow::exporter::detail {
namespace {

using Role = probe::DiscoveredProcess::Role;

std::vector<const model::ProcessView*> processes_in(const model::Snapshot& s, const std::string& cgroup) {
  std::vector<const model::ProcessView*> out;
  for (const auto& p : s.processes) {
    if (p.facts.cgroup == cgroup) out.push_back(&p);
  }
  return out;
}

// A main with all its descendants, a standalone process, or a child whose
// parent is not watched. A wrapper without an agent that only started the
// worker (tini, `sh -c`, timeout) is not the group's main: the worker under it
// is, and the wrapper is listed after it.
std::vector<std::vector<const model::ProcessView*>> groups_of(const std::vector<const model::ProcessView*>& procs) {
  auto children_of = [&](pid_t pid) {
    std::vector<const model::ProcessView*> out;
    for (const auto* p : procs) {
      if (p->facts.ppid == pid && p->facts.pid != pid) out.push_back(p);
    }
    return out;
  };
  auto watched = [&](pid_t pid) {
    return std::any_of(procs.begin(), procs.end(), [&](const auto* p) { return p->facts.pid == pid; });
  };
  std::vector<std::vector<const model::ProcessView*>> groups;
  for (const auto* root : procs) {
    if (watched(root->facts.ppid) && root->facts.ppid != root->facts.pid) continue;  // part of its parent's group
    const model::ProcessView* main = root;
    std::vector<const model::ProcessView*> rest;
    for (auto kids = children_of(main->facts.pid); !main->agent && kids.size() == 1 && rest.size() < procs.size();
         kids = children_of(main->facts.pid)) {
      rest.push_back(main);
      main = kids.front();
    }
    if (!main->agent) {  // no agent down the chain: no wrapper to see through
      main = root;
      rest.clear();
    }
    std::vector<const model::ProcessView*> frontier{main};
    while (!frontier.empty()) {  // every descendant, however deep
      const auto* p = frontier.back();
      frontier.pop_back();
      for (const auto* kid : children_of(p->facts.pid)) {
        if (rest.size() + 1 >= procs.size()) break;  // a ppid cycle in odd input cannot loop
        rest.push_back(kid);
        frontier.push_back(kid);
      }
    }
    std::sort(rest.begin(), rest.end(), [](const auto* a, const auto* b) { return a->facts.pid < b->facts.pid; });
    std::vector<const model::ProcessView*> members{main};
    members.insert(members.end(), rest.begin(), rest.end());
    groups.push_back(std::move(members));
  }
  return groups;
}

double highest_pss(const model::ProcessView& p) {
  std::uint64_t best = 0;
  p.facts.smaps_history.for_each([&](const model::SmapsSample& s) { best = std::max(best, s.pss); });
  return static_cast<double>(best);
}

// DESIGN "prefork children": the cgroup's peak when the group is alone in it;
// else a single process's VmHWM; else the PSS sum (each member's highest PSS,
// an upper bound of the sum's peak); else the highest sampled RSS.
GroupPeak group_peak(const std::vector<const model::ProcessView*>& members, const model::CgroupView& cgroup,
                     bool alone) {
  if (alone && cgroup.facts.last.peak) return {static_cast<double>(*cgroup.facts.last.peak), "cgroup"};
  if (members.size() == 1 && members.front()->facts.status) {
    return {static_cast<double>(members.front()->facts.status->vm_hwm), "vmhwm"};
  }
  bool all_pss = std::all_of(members.begin(), members.end(), [](const auto* p) { return !p->facts.smaps_history.empty(); });
  double sum = 0;
  for (const auto* p : members) sum += all_pss ? highest_pss(*p) : static_cast<double>(p->facts.max_sampled_rss);
  return {sum, all_pss ? "pss_sum" : "sampled"};
}

std::optional<analysis::Layers> layers_of(const std::vector<const model::ProcessView*>& members, const GroupPeak& peak) {
  const model::ProcessView& main = *members.front();
  if (members.size() == 1 || !main.analysis.layers) return main.analysis.layers;
  analysis::ProcessMemory memory;
  memory.bootstrap_bytes = bootstrap_bytes(main);
  memory.ready_rss_bytes = static_cast<double>(main.agent->ready_rss.value_or(0));
  analysis::GroupPeakFacts facts;
  facts.alone_in_cgroup = peak.source == "cgroup";
  facts.cgroup_peak_bytes = peak.bytes;
  facts.max_pss_sum_bytes = peak.bytes;
  return analysis::group_layers(memory, facts);
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
  auto procs = processes_in(s, cgroup.facts.path);
  auto groups = groups_of(procs);
  if (groups.empty()) {
    throw ReportError(ReportError::Kind::kNothingYet,
                      "no worker process is watched in cgroup \"" + cgroup.facts.path + "\" yet");
  }
  std::optional<WorkerGroup> best;
  for (auto& members : groups) {
    GroupPeak peak = group_peak(members, cgroup, cgroup.analysis.workers_alone && members.size() == procs.size());
    if (best && peak.bytes <= best->peak.bytes) continue;
    best = WorkerGroup{&cgroup, members, peak, layers_of(members, peak)};
  }
  return *best;
}

}  // namespace ramflow::exporter::detail
