// What one sampling cycle publishes: kernel facts, agent facts and the
// analysis of both. Immutable once published; scrapes and the report read it
// without ever waiting for the sampler.
#pragma once

#include <cstdint>
#include <deque>
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
#include "analysis/worker_groups.h"
#include "model/state_file_status.h"
#include "model/agent_registry.h"
#include "model/allocation_capture.h"
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
  std::string worker;  // its bounded `worker` label: the agent's name or a slot (model/worker_identity.h)
  analysis::ProcessRole role = analysis::ProcessRole::standalone;  // from the process tree
  ProcessAnalysis analysis;
};

// What was learned about a watched process that has ended (the post-mortem).
struct ExitedProcess {
  pid_t pid = 0;
  pid_t ppid = 0;
  std::uint64_t start_ticks = 0;
  std::string comm;
  std::string worker;
  analysis::ProcessRole role = analysis::ProcessRole::standalone;
  pid_t group_main = 0;  // the main of the worker group it belonged to
  double started = 0;  // unix seconds
  double ended = 0;    // the first cycle it was gone
  std::uint64_t peak_rss_bytes = 0;  // VmHWM as last read
  std::uint64_t last_rss_bytes = 0;
  std::string last_task;             // running when it ended, if any
  std::uint64_t tasks_ended = 0;
  ProcessAnalysis analysis;          // the last verdicts
  // What the report shows of it, bounded: its command line, the last RSS
  // points, and what its agent said (the last task ends, its net-self table).
  std::vector<std::string> cmdline;
  model::RingBuffer<model::RssSample> timeline{1};  // an initializer: aggregates copy-initialize omitted members
  std::optional<model::AgentFacts> agent;
};

// A main and its watched descendants (or one process): the unit whose layers
// and verdicts the report shows. analysis/worker_groups.h.
struct WorkerGroupView {
  pid_t main = 0;
  std::vector<pid_t> members;  // live: main first, then the rest by pid
  analysis::Footprint peak;    // over its live and exited members
  std::optional<analysis::Layers> layers;  // once the main is ready
};

struct LimitView {
  std::uint64_t bytes = 0;
  std::string source;  // "cgroup" or "host"
};

// Where a cgroup's pod figures come from (docs/analysis.md "Scope"):
// "cgroup": its own counters — the watched workers hold (nearly) all of it, as
// in a pod or a cgroup `ramflowd run` made; "processes": the watched workers'
// own memory, summed — other programs share the cgroup (a laptop's session).
enum class FigureScope { cgroup, processes };
std::string_view to_string(FigureScope scope);

struct CgroupAnalysis {
  FigureScope scope = FigureScope::cgroup;
  double working_set_bytes = 0;     // of the scope
  double nonreclaimable_bytes = 0;  // of the scope
  analysis::Margins margins;
  analysis::OomRisk oom_risk;
  analysis::MarginVerdict margin_verdict = analysis::MarginVerdict::healthy;
  analysis::Footprint footprint;
  analysis::FootprintVerdict footprint_verdict = analysis::FootprintVerdict::fits;
  std::optional<analysis::TimeToOom> time_to_oom;
  analysis::LimitRecommendation recommended_limit;
  analysis::Recommendation recommended_request;
  std::optional<analysis::CeleryRecommendation> celery;
  std::vector<WorkerGroupView> groups;  // every worker group in the cgroup
  std::deque<ExitedProcess> exited;     // oldest first, the last few (bounded)
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

// The configuration in force, as the report shows it: each setting's value and
// where it came from ("file", "env", "flag" or "default"; absent: not known).
// Made once at start.
struct Configuration {
  std::vector<std::pair<std::string, std::string>> settings;
  std::map<std::string, std::string> sources;
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
  // Allocation-site captures, the most recent first (bounded); shared by the
  // snapshots of the cycles in which it did not change. Null: none.
  std::shared_ptr<const std::vector<AllocationCapture>> captures;
  struct OomCount {
    std::string cgroup, task, source;
    std::uint64_t kills = 0;
  };
  std::vector<OomCount> oom_counts;
  std::optional<StateFileStatus> state_file;  // absent without --state-dir
  std::shared_ptr<const Configuration> configuration;
};

using SnapshotPtr = std::shared_ptr<const Snapshot>;

}  // namespace ramflow::model
