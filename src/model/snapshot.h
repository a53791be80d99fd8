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

#include "analysis/forecast.h"
#include "analysis/integrity.h"
#include "analysis/layers.h"
#include "analysis/leak_detector.h"
#include "analysis/margins.h"
#include "analysis/recommend.h"
#include "analysis/cow_drift.h"
#include "model/state_file_status.h"
#include "model/agent_registry.h"
#include "model/oom_tracker.h"
#include "model/cgroup_table.h"
#include "model/process_table.h"
#include "probe/cgroup.h"
#include "probe/cgroup_route.h"
#include "probe/meminfo.h"
#include "probe/psi.h"
#include "probe/self_usage.h"

namespace ramflow::model {

// The analysis of one process (DESIGN.md "Definitions"); unknowns stay empty.
struct ProcessAnalysis {
  std::optional<analysis::Layers> layers;  // once the agent marked ready
  std::string bootstrap_source;            // "agent", "first_sample" or "unknown"
  std::optional<double> residual_bytes;    // after the last top-level task
  analysis::LeakEvaluation leak;           // leak.evaluated false until enough samples
  std::string leak_series;                 // "residual" (agent tasks) or "rss_bucket_minimum"
  std::optional<analysis::Integrity> integrity;
  std::optional<analysis::SeedVerdict> seed;
  analysis::BloatAttribution bloat;
  double allocation_bytes_per_second = 0;
  bool greedy = false;
  std::optional<analysis::CowDrift> cow_drift;
  bool approximate = false;  // tasks share RSS (threads, gevent, eventlet pools)
};

struct ProcessView {
  model::ProcessFacts facts;
  std::optional<model::AgentFacts> agent;
  std::string worker;  // the agent's stable worker name, "" without an agent
  ProcessAnalysis analysis;
};

struct LimitView {
  std::uint64_t bytes = 0;
  std::string source;  // "cgroup" or "host"
};

struct CgroupAnalysis {
  analysis::Margins margins;
  analysis::OomRisk oom_risk;
  analysis::Footprint footprint;
  // The watched workers hold (nearly) all the cgroup's non-reclaimable memory,
  // as in a pod; false on a laptop's session cgroup, where the footprint is
  // then the sum of the workers' VmHWM instead of the cgroup's peak.
  bool workers_alone = true;
  std::string footprint_source;  // cgroup_peak, cgroup_max_usage, sampled_working_set, process_peaks
  std::optional<analysis::TimeToOom> time_to_oom;
  analysis::Recommendation recommended_limit;
  analysis::Recommendation recommended_request;
  std::optional<analysis::CeleryRecommendation> celery;
  double leak_allowance_bytes = 0;
};

struct CgroupView {
  model::CgroupFacts facts;  // facts.has_reading false: unreachable, no pod-level figure (location says why)
  probe::CgroupLocation location;  // how the sidecar reaches it
  std::optional<std::uint64_t> declared_limit;  // RAMFLOW_MEMORY_LIMIT_BYTES, never used as the limit
  LimitView limit;
  std::uint64_t peak = 0;  // kernel peak counter, else the highest sampled working set
  // PSI: the cgroup's own where present, else the host's (scope says which).
  std::optional<probe::Psi> pressure;
  std::string pressure_scope;
  CgroupAnalysis analysis;
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
  std::string ebpf_status;  // why the watcher is off, or "running"
  std::vector<model::OomRecord> oom_kills;  // recent, oldest first (bounded)
  struct OomCount {
    std::string cgroup, task, source;
    std::uint64_t kills = 0;
  };
  std::vector<OomCount> oom_counts;
  std::optional<StateFileStatus> state_file;  // absent without --state-dir
  std::vector<std::pair<std::string, std::string>> configuration;
  std::map<std::string, std::string> configuration_sources;  // option → file, env or flag
};

using SnapshotPtr = std::shared_ptr<const Snapshot>;

}  // namespace ramflow::model
