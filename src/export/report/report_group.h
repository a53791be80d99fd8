// Internal to the report: which cgroup and which worker group (a main and its
// prefork children, or one process) a report describes, and the group's peak.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "analysis/layers.h"
#include "model/snapshot.h"

namespace ramflow::exporter::detail {

struct GroupPeak {
  double bytes = 0;
  std::string source;  // "cgroup", "pss_sum", "vmhwm" or "sampled" (docs/report.md)
};

struct WorkerGroup {
  const model::CgroupView* cgroup = nullptr;
  std::vector<const model::ProcessView*> members;  // the main (or only) process first, then its descendants (and any wrapper above it) by pid
  GroupPeak peak;
  std::optional<analysis::Layers> layers;  // once the main is ready

  const model::ProcessView& main() const { return *members.front(); }
};

// `wanted` empty: the cgroup with the lowest safety margin. Throws ReportError.
const model::CgroupView& choose_cgroup(const model::Snapshot& snapshot, const std::string& wanted);

// The worker group of `cgroup` with the highest peak. Throws ReportError when it has no process.
WorkerGroup choose_group(const model::Snapshot& snapshot, const model::CgroupView& cgroup);

// The bare-interpreter RSS as the process's bootstrap_source says, if known.
std::optional<double> bootstrap_bytes(const model::ProcessView& process);

}  // namespace ramflow::exporter::detail
