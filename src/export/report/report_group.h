// Internal to the report: which cgroup and which worker group (a main and its
// descendants, or one process, as the analysis formed them) a report
// describes. Processes of the group that ended are included as members built
// from their post-mortem record (their last verdicts; no timeline).
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "model/snapshot.h"

namespace ramflow::exporter::detail {

struct WorkerGroup {
  const model::CgroupView* cgroup = nullptr;
  // Live members first (the main, then the rest by pid), then those that ended.
  std::vector<const model::ProcessView*> members;
  analysis::Footprint peak;
  std::optional<analysis::Layers> layers;  // once the main is ready
  // Members that ended: pid -> their record.
  std::map<pid_t, const model::ExitedProcess*> exited;
  std::shared_ptr<std::vector<model::ProcessView>> exited_views;  // owns what members point to for them

  const model::ProcessView& main() const { return *members.front(); }
  // The record of a member that ended; null for a live one (pids of ended members are not live).
  const model::ExitedProcess* exit_of(const model::ProcessView& p) const {
    auto it = exited.find(p.facts.pid);
    return it == exited.end() ? nullptr : it->second;
  }
};

// `wanted` empty: the cgroup with the lowest safety margin. Throws ReportError.
const model::CgroupView& choose_cgroup(const model::Snapshot& snapshot, const std::string& wanted);

// The worker group of `cgroup` with the highest peak, with its ended members;
// when every process of the cgroup ended, the group they formed. Throws
// ReportError when the cgroup never had a process.
WorkerGroup choose_group(const model::Snapshot& snapshot, const model::CgroupView& cgroup);

// The bare-interpreter RSS as the process's bootstrap_source says, if known.
std::optional<double> bootstrap_bytes(const model::ProcessView& process);

}  // namespace ramflow::exporter::detail
