#include "export/prometheus/metric_table.h"

#include <algorithm>
#include <optional>

namespace ramflow::exporter {
namespace {

using Spec = MetricSpec<MetricSource>;
using Value = std::optional<double>;  // nullopt: no sample (unknown, or not applicable)
constexpr MetricType kGauge = MetricType::gauge;
constexpr MetricType kCounter = MetricType::counter;

template <class N>
double number(N n) {
  return static_cast<double>(n);
}

// Pod level: one sample per worker cgroup that was read (an unreadable one has
// none; the report says what is missing).
template <class F>
auto per_cgroup(F value) {
  return [value](const MetricSource& s, Samples& out) {
    for (const auto& c : s.snapshot.cgroups) {
      if (!c.facts.has_reading) continue;
      if (Value v = value(c)) out.push_back({{c.facts.path}, *v});
    }
  };
}

// Per process, keyed by its bounded `worker` identity (never the pid).
template <class F>
auto per_process(F value) {
  return [value](const MetricSource& s, Samples& out) {
    for (const auto& p : s.snapshot.processes) {
      if (!p.facts.status) continue;
      if (Value v = value(p)) out.push_back({{p.worker}, *v});
    }
  };
}

template <class F>
auto per_process_and_role(F value) {
  return [value](const MetricSource& s, Samples& out) {
    for (const auto& p : s.snapshot.processes) {
      if (!p.facts.status) continue;
      if (Value v = value(p)) out.push_back({{p.worker, std::string(analysis::to_string(p.role))}, *v});
    }
  };
}

// A state set (kube-state-metrics' habit): one series per possible value, 1 for
// the current one; none while the current value is unknown.
template <class F>
auto state_set(std::vector<std::string_view> values, F current) {
  return [values, current](const MetricSource& s, Samples& out) {
    for (const auto& p : s.snapshot.processes) {
      if (!p.facts.status) continue;
      std::optional<std::string_view> now = current(p);
      if (!now) continue;
      for (auto v : values) out.push_back({{p.worker, std::string(v)}, v == *now ? 1.0 : 0.0});
    }
  };
}

template <class F>
auto layer(std::string_view name, F bytes) {
  return [name, bytes](const MetricSource& s, Samples& out) {
    for (const auto& p : s.snapshot.processes) {
      if (!p.facts.status || !p.analysis.layers) continue;
      if (Value v = bytes(*p.analysis.layers)) out.push_back({{p.worker, std::string(name)}, *v});
    }
  };
}

template <class F>
auto per_function(F value) {
  return [value](const MetricSource& s, Samples& out) {
    for (const auto& f : s.snapshot.functions) {
      out.push_back({{f.function, std::string(model::to_string(f.kind))}, value(f)});
    }
  };
}

// A counter per label value; the producers list every known value (at 0 until it happens).
void per_key(const std::map<std::string, std::uint64_t>& counts, Samples& out) {
  for (const auto& [key, n] : counts) out.push_back({{key}, number(n)});
}

Value ready_share(const model::ProcessView& p, double analysis::Layers::*field) {
  return p.analysis.layers ? Value((*p.analysis.layers).*field) : std::nullopt;
}

void layers(const MetricSource& s, Samples& out) {
  layer("bootstrap", [](const analysis::Layers& l) { return l.bootstrap_bytes; })(s, out);
  layer("ecosystem", [](const analysis::Layers& l) { return l.ecosystem_bytes; })(s, out);
  layer("business", [](const analysis::Layers& l) { return Value(l.business_bytes); })(s, out);
}

// Imports once per worker group: its main (or a process alone) reports them; children inherit them.
void imports(const MetricSource& s, Samples& out) {
  for (const auto& p : s.snapshot.processes) {
    const bool leads = p.role == analysis::ProcessRole::main || p.role == analysis::ProcessRole::standalone;
    if (!p.facts.status || !leads || !p.agent) continue;
    for (const auto& i : p.agent->imports) out.push_back({{p.worker, i.module}, number(i.bytes)});
  }
}

// The sites of each live process's last finished capture, the largest first
// (docs/allocation-sites.md). Bounded: kSitesPerProcess per live process,
// `site` cut to its last kSiteLabelBytes; sites sharing a file:line are summed.
constexpr std::size_t kSitesPerProcess = 5;
constexpr std::size_t kSiteLabelBytes = 128;

std::string site_label(const model::CaptureFrame& f) {
  std::string label = f.file + ":" + std::to_string(f.line);
  if (label.size() <= kSiteLabelBytes) return label;
  std::size_t cut = label.size() - kSiteLabelBytes;
  while (cut < label.size() && (static_cast<unsigned char>(label[cut]) & 0xC0) == 0x80) ++cut;  // whole UTF-8
  return label.substr(cut);
}

void allocation_sites(const MetricSource& s, Samples& out) {
  if (!s.snapshot.captures) return;
  for (const auto& p : s.snapshot.processes) {
    if (!p.facts.status) continue;
    for (const auto& c : *s.snapshot.captures) {  // the most recent first
      if (c.pid != p.facts.pid || (c.start_ticks && c.start_ticks != p.facts.start_ticks) ||
          c.status != model::CaptureStatus::done) {
        continue;
      }
      std::vector<std::pair<std::string, double>> sites;
      for (const auto& site : c.sites) {
        if (site.site >= site.frames.size()) continue;
        std::string label = site_label(site.frames[site.site]);
        auto same = std::find_if(sites.begin(), sites.end(), [&](const auto& e) { return e.first == label; });
        if (same != sites.end()) same->second += number(site.bytes);
        else if (sites.size() < kSitesPerProcess) sites.emplace_back(std::move(label), number(site.bytes));
      }
      for (auto& [label, bytes] : sites) out.push_back({{p.worker, std::move(label)}, bytes});
      break;
    }
  }
}

const std::vector<Spec> kTable = {
    // --- pod (worker cgroup) ---------------------------------------------------
    {"ramflow_memory_limit_bytes", kGauge,
     "Effective memory limit of the worker cgroup: its own limit, else the host's MemTotal.", {"cgroup", "source"},
     [](const MetricSource& s, Samples& out) {
       for (const auto& c : s.snapshot.cgroups) {
         if (c.facts.has_reading) out.push_back({{c.facts.path, c.limit.source}, number(c.limit.bytes)});
       }
     }},
    {"ramflow_memory_working_set_bytes", kGauge, "Cgroup usage minus inactive file pages, as the kubelet computes it.",
     {"cgroup"}, per_cgroup([](const model::CgroupView& c) { return Value(number(c.facts.last.working_set())); })},
    {"ramflow_memory_nonreclaimable_bytes", kGauge,
     "Anonymous + shmem + unevictable memory of the cgroup: what the kernel cannot drop before an OOM kill.",
     {"cgroup"}, per_cgroup([](const model::CgroupView& c) { return Value(number(c.facts.last.nonreclaimable())); })},
    {"ramflow_memory_usage_bytes", kGauge, "Memory usage of the cgroup as the kernel charges it (page cache included).",
     {"cgroup"}, per_cgroup([](const model::CgroupView& c) { return Value(number(c.facts.last.usage)); })},
    {"ramflow_memory_peak_bytes", kGauge,
     "Peak memory of the cgroup from the kernel's peak counter, else the highest sampled working set.", {"cgroup"},
     per_cgroup([](const model::CgroupView& c) { return Value(number(c.peak)); })},
    {"ramflow_safety_margin_ratio", kGauge,
     "Working-set margin: max(0, (limit - working set) / limit), what the kubelet sees.", {"cgroup"},
     per_cgroup([](const model::CgroupView& c) { return Value(c.analysis.margins.safety); })},
    {"ramflow_nonreclaimable_margin_ratio", kGauge,
     "Non-reclaimable margin: max(0, (limit - non-reclaimable) / limit), what the OOM killer sees.", {"cgroup"},
     per_cgroup([](const model::CgroupView& c) { return Value(c.analysis.margins.nonreclaimable); })},
    {"ramflow_time_to_oom_seconds", kGauge,
     "Projected time until non-reclaimable memory reaches the limit; absent when not growing.", {"cgroup"},
     per_cgroup([](const model::CgroupView& c) {
       return c.analysis.time_to_oom ? Value(c.analysis.time_to_oom->seconds) : std::nullopt;
     })},
    {"ramflow_recommended_memory_limit_bytes", kGauge,
     "Recommended container memory limit: peak x (1 + headroom) + leak allowance, whole Mi.", {"cgroup"},
     per_cgroup([](const model::CgroupView& c) { return Value(c.analysis.recommended_limit.bytes); })},
    {"ramflow_recommended_memory_request_bytes", kGauge,
     "Recommended container memory request: p90 of per-bucket peaks x 1.15, never above the limit.", {"cgroup"},
     per_cgroup([](const model::CgroupView& c) { return Value(c.analysis.recommended_request.bytes); })},
    {"ramflow_recommended_celery_max_memory_per_child_bytes", kGauge,
     "Per-child budget for Celery's worker_max_memory_per_child that keeps the pod under the recommended limit.",
     {"cgroup"},
     per_cgroup([](const model::CgroupView& c) {
       return c.analysis.celery ? Value(c.analysis.celery->bytes) : std::nullopt;
     })},
    {"ramflow_memory_pressure_ratio", kGauge,
     "Memory pressure stall (PSI avg10 / 100); scope says whether it is the cgroup's own or the host's.",
     {"cgroup", "kind", "scope"},
     [](const MetricSource& s, Samples& out) {
       for (const auto& c : s.snapshot.cgroups) {
         if (!c.facts.has_reading || !c.pressure) continue;
         out.push_back({{c.facts.path, "some", c.pressure_scope}, c.pressure->some_avg10 / 100.0});
         out.push_back({{c.facts.path, "full", c.pressure_scope}, c.pressure->full_avg10 / 100.0});
       }
     }},
    {"ramflow_oom_kills_total", kCounter,
     "OOM kills of watched workers, by the task they were running (unknown if none) and how they were seen (ebpf, inferred).",
     {"cgroup", "task", "source"},
     [](const MetricSource& s, Samples& out) {
       for (const auto& c : s.snapshot.oom_counts) out.push_back({{c.cgroup, c.task, c.source}, number(c.kills)});
     }},

    // --- per process ---------------------------------------------------------
    {"ramflow_process_info", kGauge,
     "One series per live worker process, always 1: its pid and role. The only series that names a pid.",
     {"worker", "role", "pid"},
     [](const MetricSource& s, Samples& out) {
       for (const auto& p : s.snapshot.processes) {
         if (!p.facts.status) continue;
         out.push_back({{p.worker, std::string(analysis::to_string(p.role)), std::to_string(p.facts.pid)}, 1});
       }
     }},
    {"ramflow_process_rss_bytes", kGauge, "Resident set size of the worker process (VmRSS).", {"worker", "role"},
     per_process_and_role([](const model::ProcessView& p) { return Value(number(p.facts.status->vm_rss)); })},
    {"ramflow_process_peak_rss_bytes", kGauge, "Peak resident set size of the worker process (VmHWM).",
     {"worker", "role"},
     per_process_and_role([](const model::ProcessView& p) { return Value(number(p.facts.status->vm_hwm)); })},
    {"ramflow_process_pss_bytes", kGauge,
     "Proportional set size: shared pages divided among the processes sharing them (smaps_rollup).",
     {"worker", "role"},
     per_process_and_role([](const model::ProcessView& p) {
       return p.facts.smaps ? Value(number(p.facts.smaps->pss)) : std::nullopt;
     })},
    {"ramflow_process_uss_bytes", kGauge, "Unique set size: private clean + private dirty pages (smaps_rollup).",
     {"worker", "role"},
     per_process_and_role([](const model::ProcessView& p) {
       return p.facts.smaps ? Value(number(p.facts.smaps->uss())) : std::nullopt;
     })},
    {"ramflow_layer_bytes", kGauge,
     "The three memory layers: bootstrap (bare interpreter), ecosystem (framework load until ready), business (peak since ready - ready).",
     {"worker", "layer"}, layers},
    {"ramflow_import_bytes", kGauge,
     "RSS growth while a top-level module was imported before ready (the 20 heaviest), once per worker group: its main's.",
     {"worker", "module"}, imports},
    {"ramflow_residual_bytes", kGauge, "RSS right after the last top-level task minus RSS at ready.", {"worker"},
     per_process([](const model::ProcessView& p) { return p.analysis.residual_bytes; })},
    {"ramflow_integrity", kGauge, "Integrity state set: secure, stable or bloated (1 for the current status).",
     {"worker", "status"},
     state_set({"secure", "stable", "bloated"}, [](const model::ProcessView& p) -> std::optional<std::string_view> {
       if (!p.analysis.integrity) return std::nullopt;
       return analysis::to_string(*p.analysis.integrity);
     })},
    {"ramflow_leak_probability", kGauge,
     "Probability that the process leaks, always in its leak level's band (low, medium, high); absent before the trend test has enough samples.",
     {"worker"},
     per_process([](const model::ProcessView& p) {
       return p.analysis.leak.evaluated ? Value(p.analysis.leak.probability) : std::nullopt;
     })},
    {"ramflow_leak_level", kGauge, "Leak level state set: low, medium or high (1 for the current level).",
     {"worker", "level"},
     state_set({"low", "medium", "high"}, [](const model::ProcessView& p) -> std::optional<std::string_view> {
       if (!p.analysis.leak.evaluated) return std::nullopt;
       return analysis::to_string(p.analysis.leak.level);
     })},
    {"ramflow_leak_rate_bytes_per_second", kGauge,
     "Theil-Sen slope of the residual series, in bytes per second at the observed task rate.", {"worker"},
     per_process([](const model::ProcessView& p) {
       return p.analysis.leak.evaluated ? Value(p.analysis.leak.rate_bytes_per_s) : std::nullopt;
     })},
    {"ramflow_allocation_rate_bytes_per_second", kGauge,
     "Allocation speed: positive RSS growth per second over a 30 s window.", {"worker"},
     per_process([](const model::ProcessView& p) { return Value(p.analysis.allocation_bytes_per_second); })},
    {"ramflow_cow_drift_bytes_per_second", kGauge,
     "Copy-on-write drift of a prefork child: shared pages turning private per second.", {"worker"},
     per_process([](const model::ProcessView& p) {
       return p.analysis.cow_drift ? Value(p.analysis.cow_drift->bytes_per_second) : std::nullopt;
     })},
    {"ramflow_expansion_factor", kGauge, "Peak / (bootstrap + ecosystem): how far business logic stretched the process.",
     {"worker"},
     per_process([](const model::ProcessView& p) { return ready_share(p, &analysis::Layers::expansion_factor); })},
    {"ramflow_infrastructure_share_ratio", kGauge,
     "(bootstrap + ecosystem) / peak; 0.7 or more means trim imports, not loops.", {"worker"},
     per_process([](const model::ProcessView& p) { return ready_share(p, &analysis::Layers::infrastructure_share); })},

    // --- functions and tasks (top K by admission; the rest is "other") --------
    {"ramflow_function_calls_total", kCounter,
     "Tracked calls finished, per function or task (top K by admission; the rest is \"other\").", {"function", "kind"},
     per_function([](const model::FunctionStats& f) { return number(f.calls); })},
    {"ramflow_function_measured_calls_total", kCounter,
     "Tracked calls whose memory was read (quiet functions are sampled; docs/analysis.md).", {"function", "kind"},
     per_function([](const model::FunctionStats& f) { return number(f.measured_calls); })},
    {"ramflow_function_net_self_bytes_total", kCounter,
     "Kept bytes: positive net self (RSS change minus tracked children's), still resident at return, summed.",
     {"function", "kind"}, per_function([](const model::FunctionStats& f) { return f.net_self_bytes; })},
    {"ramflow_function_released_bytes_total", kCounter,
     "Released bytes: negative net self (RSS its own code dropped below the call's start), summed as a positive number.",
     {"function", "kind"}, per_function([](const model::FunctionStats& f) { return f.released_bytes; })},
    {"ramflow_function_gross_bytes_total", kCounter,
     "Own rise: the highest RSS growth of the call's own code (tracked children excluded) = kept + freed, summed.",
     {"function", "kind"}, per_function([](const model::FunctionStats& f) { return f.gross_bytes; })},
    {"ramflow_function_freed_bytes_total", kCounter, "Freed bytes: own rise given back before the call returned, summed.",
     {"function", "kind"}, per_function([](const model::FunctionStats& f) { return f.freed_bytes; })},
    {"ramflow_function_duration_seconds_total", kCounter, "Time spent in tracked calls.", {"function", "kind"},
     per_function([](const model::FunctionStats& f) { return f.duration_seconds; })},
    {"ramflow_function_peak_bytes", kGauge, "Largest own rise of one call.", {"function", "kind"},
     per_function([](const model::FunctionStats& f) { return f.peak_bytes; })},
    {"ramflow_allocation_site_bytes", kGauge,
     "Bytes an allocation site (file:line of the application) grew during the last finished allocation-site capture of the process; its 5 largest.",
     {"worker", "site"}, allocation_sites},

    // --- agent ingest ---------------------------------------------------------
    {"ramflow_agent_events_total", kCounter, "Agent events accepted, per message type.", {"type"},
     [](const MetricSource& s, Samples& out) { per_key(s.snapshot.agent_counters.accepted_by_type, out); }},
    {"ramflow_agent_events_rejected_total", kCounter,
     "Agent messages rejected, per reason (malformed, oversized, unknown version, refused peer...).", {"reason"},
     [](const MetricSource& s, Samples& out) {
       const auto& c = s.snapshot.agent_counters;
       per_key(c.rejected_by_reason, out);
       out.push_back({{"refused_peer"}, number(c.refused_peers)});
     }},
    {"ramflow_agent_events_dropped_total", kCounter,
     "Agent events lost: dropped in the agent (as it reports) or seen as sequence gaps.", {"where"},
     [](const MetricSource& s, Samples& out) {
       out.push_back({{"agent"}, number(s.snapshot.agent_counters.dropped_in_agent)});
       out.push_back({{"gap"}, number(s.snapshot.agent_counters.sequence_gaps)});
     }},
    {"ramflow_agent_connected_processes", kGauge, "Processes whose agent spoke in the last minute.", {},
     [](const MetricSource& s, Samples& out) { out.push_back({{}, number(s.snapshot.agent_connected_processes)}); }},

    // --- ramflowd itself --------------------------------------------------------
    {"ramflow_probe_errors_total", kCounter, "Unreadable or malformed kernel files, per probe source.", {"source"},
     [](const MetricSource& s, Samples& out) { per_key(s.snapshot.probe_errors, out); }},
    {"ramflow_probe_duration_seconds", kGauge, "Time each probe source took in the last sampling cycle.", {"source"},
     [](const MetricSource& s, Samples& out) {
       for (const auto& [source, seconds] : s.snapshot.probe_durations) out.push_back({{source}, seconds});
     }},
    {"process_cpu_seconds_total", kCounter, "Total user and system CPU time spent by ramflowd in seconds.", {},
     [](const MetricSource& s, Samples& out) {
       if (s.snapshot.self_usage) out.push_back({{}, s.snapshot.self_usage->cpu_seconds});
     }},
    {"process_resident_memory_bytes", kGauge, "Resident memory size of ramflowd in bytes.", {},
     [](const MetricSource& s, Samples& out) {
       if (s.snapshot.self_usage) out.push_back({{}, number(s.snapshot.self_usage->resident_bytes)});
     }},
    {"ramflow_ebpf_active", kGauge, "1 when the eBPF OOM watcher is loaded and running.", {},
     [](const MetricSource& s, Samples& out) { out.push_back({{}, s.snapshot.ebpf_active ? 1.0 : 0.0}); }},
    {"ramflow_state_write_errors_total", kCounter, "Failed writes of the state file in --state-dir.", {},
     [](const MetricSource& s, Samples& out) {
       if (s.snapshot.state_file) out.push_back({{}, number(s.snapshot.state_file->write_errors)});
     }},
    {"ramflow_state_last_write_timestamp_seconds", kGauge, "When the state file was last written, Unix seconds.", {},
     [](const MetricSource& s, Samples& out) {
       if (s.snapshot.state_file && s.snapshot.state_file->last_write) {
         out.push_back({{}, *s.snapshot.state_file->last_write});
       }
     }},
    {"ramflow_build_info", kGauge, "Build and runtime facts of ramflowd; always 1.",
     {"version", "cgroup_version", "ebpf"},
     [](const MetricSource& s, Samples& out) {
       out.push_back({{s.build.version, std::string(probe::to_string(s.snapshot.cgroup_version)),
                       s.build.ebpf_built ? "built" : "not_built"},
                      1});
     }},
};

}  // namespace

const std::vector<MetricSpec<MetricSource>>& metric_table() { return kTable; }

}  // namespace ramflow::exporter
