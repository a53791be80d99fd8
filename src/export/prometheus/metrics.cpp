#include "export/prometheus/metrics.h"

#include <sstream>

#include <prometheus/text_serializer.h>

#include "export/prometheus/family_builder.h"

namespace ramflow::exporter {
namespace {

using prometheus::MetricType;

std::string pid_label(pid_t pid) { return std::to_string(pid); }

void pod_metrics(FamilyBuilder& b, const model::Snapshot& s) {
  for (const auto& c : s.cgroups) {
    if (!c.facts.has_reading) continue;  // unreachable: the report says what is missing
    const std::string& cg = c.facts.path;
    const auto& m = c.facts.last;
    b.gauge("ramflow_memory_limit_bytes", "Effective memory limit of the worker cgroup: its own limit, else the host's MemTotal.",
            {{"cgroup", cg}, {"source", c.limit.source}}, static_cast<double>(c.limit.bytes));
    b.gauge("ramflow_memory_working_set_bytes", "Cgroup usage minus inactive file pages, as the kubelet computes it.",
            {{"cgroup", cg}}, static_cast<double>(m.working_set()));
    b.gauge("ramflow_memory_nonreclaimable_bytes", "Anonymous + shmem + unevictable memory of the cgroup: what the kernel cannot drop before an OOM kill.",
            {{"cgroup", cg}}, static_cast<double>(m.nonreclaimable()));
    b.gauge("ramflow_memory_usage_bytes", "Memory usage of the cgroup as the kernel charges it (page cache included).",
            {{"cgroup", cg}}, static_cast<double>(m.usage));
    b.gauge("ramflow_memory_peak_bytes", "Peak memory of the cgroup from the kernel's peak counter, else the highest sampled working set.",
            {{"cgroup", cg}}, static_cast<double>(c.peak));
    const auto& a = c.analysis;
    b.gauge("ramflow_safety_margin_ratio", "Working-set margin: max(0, (limit - working set) / limit), what the kubelet sees.",
            {{"cgroup", cg}}, a.margins.safety);
    b.gauge("ramflow_nonreclaimable_margin_ratio", "Non-reclaimable margin: max(0, (limit - non-reclaimable) / limit), what the OOM killer sees.",
            {{"cgroup", cg}}, a.margins.nonreclaimable);
    if (a.time_to_oom) {
      b.gauge("ramflow_time_to_oom_seconds", "Projected time until non-reclaimable memory reaches the limit; absent when not growing.",
              {{"cgroup", cg}}, a.time_to_oom->seconds);
    }
    b.gauge("ramflow_recommended_memory_limit_bytes", "Recommended container memory limit: peak x (1 + headroom) + leak allowance, whole Mi.",
            {{"cgroup", cg}}, a.recommended_limit.bytes);
    b.gauge("ramflow_recommended_memory_request_bytes", "Recommended container memory request: p90 of per-bucket peaks x 1.15.",
            {{"cgroup", cg}}, a.recommended_request.bytes);
    if (a.celery) {
      b.gauge("ramflow_recommended_celery_max_memory_per_child_bytes", "Per-child budget for Celery's worker_max_memory_per_child that keeps the pod under the recommended limit.",
              {{"cgroup", cg}}, a.celery->bytes);
    }
    if (c.pressure) {
      b.gauge("ramflow_memory_pressure_ratio", "Memory pressure stall (PSI avg10 / 100); scope says whether it is the cgroup's own or the host's.",
              {{"cgroup", cg}, {"kind", "some"}, {"scope", c.pressure_scope}}, c.pressure->some_avg10 / 100.0);
      b.gauge("ramflow_memory_pressure_ratio", "", {{"cgroup", cg}, {"kind", "full"}, {"scope", c.pressure_scope}},
              c.pressure->full_avg10 / 100.0);
    }
  }
}

// State sets (kube-state-metrics habit): one series per possible value, 1 for the current one.
void state_set(FamilyBuilder& b, const std::string& name, const std::string& help, const std::string& pid,
               const std::string& label, std::initializer_list<std::string_view> values, std::string_view current) {
  for (auto v : values) b.gauge(name, help, {{"pid", pid}, {label, std::string(v)}}, v == current ? 1 : 0);
}

void analysis_metrics(FamilyBuilder& b, const model::ProcessView& p) {
  const auto& a = p.analysis;
  std::string pid = pid_label(p.facts.pid);
  if (a.layers) {
    const char* help = "The three memory layers: bootstrap (bare interpreter), ecosystem (framework load until ready), business (peak since ready - ready).";
    if (a.layers->bootstrap_bytes) b.gauge("ramflow_layer_bytes", help, {{"pid", pid}, {"layer", "bootstrap"}}, *a.layers->bootstrap_bytes);
    if (a.layers->ecosystem_bytes) b.gauge("ramflow_layer_bytes", help, {{"pid", pid}, {"layer", "ecosystem"}}, *a.layers->ecosystem_bytes);
    b.gauge("ramflow_layer_bytes", help, {{"pid", pid}, {"layer", "business"}}, a.layers->business_bytes);
    b.gauge("ramflow_expansion_factor", "Peak / (bootstrap + ecosystem): how far business logic stretched the process.", {{"pid", pid}},
            a.layers->expansion_factor);
    b.gauge("ramflow_infrastructure_share_ratio", "(bootstrap + ecosystem) / peak; 0.7 or more means trim imports, not loops.",
            {{"pid", pid}}, a.layers->infrastructure_share);
  }
  if (a.residual_bytes) {
    b.gauge("ramflow_residual_bytes", "RSS right after the last top-level task minus RSS at ready.", {{"pid", pid}}, *a.residual_bytes);
  }
  if (a.integrity) {
    state_set(b, "ramflow_integrity", "Integrity state set: secure, stable or bloated (1 for the current status).", pid, "status",
              {"secure", "stable", "bloated"}, analysis::to_string(*a.integrity));
  }
  if (a.leak.evaluated) {
    b.gauge("ramflow_leak_probability", "Mann-Kendall probability (1 - one-sided p) that the residual series grows.", {{"pid", pid}},
            a.leak.probability);
    state_set(b, "ramflow_leak_level", "Leak level state set: low, medium or high (1 for the current level).", pid, "level",
              {"low", "medium", "high"}, analysis::to_string(a.leak.level));
    b.gauge("ramflow_leak_rate_bytes_per_second", "Theil-Sen slope of the residual series, in bytes per second at the observed task rate.",
            {{"pid", pid}}, a.leak.rate_bytes_per_s);
  }
  b.gauge("ramflow_allocation_rate_bytes_per_second", "Allocation speed: positive RSS growth per second over a 30 s window.", {{"pid", pid}},
          a.allocation_bytes_per_second);
  if (a.cow_drift) {
    b.gauge("ramflow_cow_drift_bytes_per_second", "Copy-on-write drift of a prefork child: shared pages turning private per second.",
            {{"pid", pid}}, a.cow_drift->bytes_per_second);
  }
}

void process_metrics(FamilyBuilder& b, const model::Snapshot& s) {
  for (const auto& p : s.processes) {
    if (!p.facts.status) continue;
    Labels l = {{"pid", pid_label(p.facts.pid)},
                {"role", std::string(analysis::to_string(p.role))},
                {"worker", p.worker}};
    b.gauge("ramflow_process_rss_bytes", "Resident set size of the worker process (VmRSS).", l,
            static_cast<double>(p.facts.status->vm_rss));
    b.gauge("ramflow_process_peak_rss_bytes", "Peak resident set size of the worker process (VmHWM).", l,
            static_cast<double>(p.facts.status->vm_hwm));
    if (p.facts.smaps) {
      b.gauge("ramflow_process_pss_bytes", "Proportional set size: shared pages divided among the processes sharing them (smaps_rollup).", l,
              static_cast<double>(p.facts.smaps->pss));
      b.gauge("ramflow_process_uss_bytes", "Unique set size: private clean + private dirty pages (smaps_rollup).", l,
              static_cast<double>(p.facts.smaps->uss()));
    }
    analysis_metrics(b, p);
    if (p.agent) {
      for (const auto& imp : p.agent->imports) {
        b.gauge("ramflow_import_bytes", "RSS growth while a top-level module was imported before ready (the 20 heaviest).",
                {{"pid", pid_label(p.facts.pid)}, {"module", imp.module}}, static_cast<double>(imp.bytes));
      }
    }
  }
}

void oom_metrics(FamilyBuilder& b, const model::Snapshot& s) {
  b.declare("ramflow_oom_kills_total", "OOM kills of watched workers, by the task they were running (unknown if none) and how they were seen (ebpf, inferred).",
            MetricType::Counter);
  for (const auto& c : s.oom_counts) {
    b.counter("ramflow_oom_kills_total", "", {{"cgroup", c.cgroup}, {"task", c.task}, {"source", c.source}}, static_cast<double>(c.kills));
  }
}

void function_metrics(FamilyBuilder& b, const model::Snapshot& s) {
  b.declare("ramflow_function_calls_total", "Tracked calls finished, per function or task (top K by admission; the rest is \"other\").", MetricType::Counter);
  for (const auto& f : s.functions) {
    Labels l = {{"function", f.function}, {"kind", std::string(model::to_string(f.kind))}};
    b.counter("ramflow_function_calls_total", "", l, static_cast<double>(f.calls));
    b.counter("ramflow_function_measured_calls_total", "Tracked calls whose memory was read (quiet functions are sampled; docs/analysis.md).", l, static_cast<double>(f.measured_calls));
    b.counter("ramflow_function_net_self_bytes_total", "Kept bytes: positive net self (RSS change minus tracked children's), still resident at return, summed.", l, f.net_self_bytes);
    b.counter("ramflow_function_released_bytes_total", "Released bytes: negative net self (RSS its own code dropped below the call's start), summed as a positive number.", l, f.released_bytes);
    b.counter("ramflow_function_gross_bytes_total", "Own rise: the highest RSS growth of the call's own code (tracked children excluded) = kept + freed, summed.", l, f.gross_bytes);
    b.counter("ramflow_function_freed_bytes_total", "Freed bytes: own rise given back before the call returned, summed.", l, f.freed_bytes);
    b.counter("ramflow_function_duration_seconds_total", "Time spent in tracked calls.", l, f.duration_seconds);
    b.gauge("ramflow_function_peak_bytes", "Largest own rise of one call.", l, f.peak_bytes);
  }
}

void agent_metrics(FamilyBuilder& b, const model::Snapshot& s) {
  const auto& c = s.agent_counters;
  b.declare("ramflow_agent_events_total", "Agent events accepted, per message type.", MetricType::Counter);
  for (const auto& [type, n] : c.accepted_by_type) {
    b.counter("ramflow_agent_events_total", "", {{"type", type}}, static_cast<double>(n));
  }
  b.declare("ramflow_agent_events_rejected_total", "Agent messages rejected, per reason (malformed, oversized, unknown version, refused peer...).", MetricType::Counter);
  for (const auto& [reason, n] : c.rejected_by_reason) {
    b.counter("ramflow_agent_events_rejected_total", "", {{"reason", reason}}, static_cast<double>(n));
  }
  if (c.refused_peers > 0) {
    b.counter("ramflow_agent_events_rejected_total", "", {{"reason", "refused_peer"}}, static_cast<double>(c.refused_peers));
  }
  b.counter("ramflow_agent_events_dropped_total", "Agent events lost: dropped in the agent (as it reports) or seen as sequence gaps.",
            {{"where", "agent"}}, static_cast<double>(c.dropped_in_agent));
  b.counter("ramflow_agent_events_dropped_total", "", {{"where", "gap"}}, static_cast<double>(c.sequence_gaps));
  b.gauge("ramflow_agent_connected_processes", "Processes whose agent spoke in the last minute.", {},
          static_cast<double>(s.agent_connected_processes));
}

void self_metrics(FamilyBuilder& b, const model::Snapshot& s, const BuildInfo& build) {
  b.gauge("ramflow_build_info", "Build and runtime facts of ramflowd; always 1.",
          {{"version", build.version},
           {"cgroup_version", std::string(probe::to_string(s.cgroup_version))},
           {"ebpf", build.ebpf_built ? "built" : "not_built"}},
          1);
  b.gauge("ramflow_ebpf_active", "1 when the eBPF OOM watcher is loaded and running.", {}, s.ebpf_active ? 1 : 0);
  b.declare("ramflow_probe_errors_total", "Unreadable or malformed kernel files, per probe source.", MetricType::Counter);
  for (const auto& [source, n] : s.probe_errors) {
    b.counter("ramflow_probe_errors_total", "", {{"source", source}}, static_cast<double>(n));
  }
  for (const auto& [source, seconds] : s.probe_durations) {
    b.gauge("ramflow_probe_duration_seconds", "Time each probe source took in the last sampling cycle.", {{"source", source}}, seconds);
  }
  if (s.state_file) {
    b.counter("ramflow_state_write_errors_total", "Failed writes of the state file in --state-dir.", {},
              static_cast<double>(s.state_file->write_errors));
    if (s.state_file->last_write) {
      b.gauge("ramflow_state_last_write_timestamp_seconds", "When the state file was last written, Unix seconds.", {},
              *s.state_file->last_write);
    }
  }
  if (s.self_usage) {
    b.counter("process_cpu_seconds_total", "Total user and system CPU time spent by ramflowd in seconds.", {},
              s.self_usage->cpu_seconds);
    b.gauge("process_resident_memory_bytes", "Resident memory size of ramflowd in bytes.", {},
            static_cast<double>(s.self_usage->resident_bytes));
  }
}

}  // namespace

std::string render_metrics(const model::Snapshot& snapshot, const BuildInfo& build) {
  FamilyBuilder b;
  self_metrics(b, snapshot, build);
  pod_metrics(b, snapshot);
  oom_metrics(b, snapshot);
  process_metrics(b, snapshot);
  function_metrics(b, snapshot);
  agent_metrics(b, snapshot);
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, b.take());
  return out.str();
}

}  // namespace ramflow::exporter
