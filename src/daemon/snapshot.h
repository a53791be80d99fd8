// What one sampling cycle publishes: kernel facts, agent facts and the
// analysis of both. Immutable once published; scrapes and the report read it
// without ever waiting for the sampler.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "model/agent_registry.h"
#include "model/cgroup_table.h"
#include "model/process_table.h"
#include "probe/cgroup.h"
#include "probe/meminfo.h"
#include "probe/psi.h"
#include "probe/self_usage.h"

namespace ramflow::daemon {

struct ProcessView {
  model::ProcessFacts facts;
  std::optional<model::AgentFacts> agent;
  std::string worker;  // the agent's stable worker name, "" without an agent
};

struct LimitView {
  std::uint64_t bytes = 0;
  std::string source;  // "cgroup" or "host"
};

struct CgroupView {
  model::CgroupFacts facts;
  LimitView limit;
  std::uint64_t peak = 0;  // kernel peak counter, else the highest sampled working set
  // PSI: the cgroup's own where present, else the host's (scope says which).
  std::optional<probe::Psi> pressure;
  std::string pressure_scope;
};

struct Snapshot {
  double time = 0;
  std::uint64_t cycle = 0;
  probe::CgroupVersion cgroup_version = probe::CgroupVersion::kNone;
  std::optional<probe::Meminfo> host_memory;
  std::optional<probe::Psi> host_pressure;
  std::vector<ProcessView> processes;
  std::vector<CgroupView> cgroups;
  std::vector<model::FunctionStats> functions;
  model::AgentCounters agent_counters;
  std::size_t agent_connected_processes = 0;  // spoke in the last minute
  std::map<std::string, std::uint64_t> probe_errors;
  std::map<std::string, double> probe_durations;
  std::optional<probe::SelfUsage> self_usage;
  bool ebpf_active = false;
  std::vector<std::pair<std::string, std::string>> configuration;
};

using SnapshotPtr = std::shared_ptr<const Snapshot>;

}  // namespace ramflow::daemon
