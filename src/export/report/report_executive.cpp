// executive: the worker group, its layers, integrity, the four KPIs, time to
// OOM, the recommendation, imports and the per-process table.
#include <algorithm>

#include "analysis/allocation_speed.h"
#include "analysis/recommend.h"
#include "thresholds/thresholds.h"
#include "analysis/units.h"
#include "export/report/report_sections.h"
#include "model/command_line.h"

namespace ramflow::exporter::detail {
namespace {

using nlohmann::json;

constexpr std::size_t kCommandChars = 256;
constexpr std::size_t kImports = 20;
// Per-call allocation speeds of shorter or smaller calls are noise (one page
// fault in a microsecond reads as GiB/s); they are left to the process window.
constexpr double kCallSpeedMinSeconds = 0.010;
constexpr double kCallSpeedMinBytes = analysis::kMiB;

std::string pool_of(const model::ProcessView& main) {
  if (main.agent && main.agent->hello) {
    const auto& hello = *main.agent->hello;
    if (hello.framework != "celery") return "none";
    for (const char* pool : {"prefork", "threads", "gevent", "eventlet", "solo"}) {
      if (hello.pool == pool) return pool;
    }
    return "unknown";
  }
  // Without an agent only the command line tells whether it is Celery at all.
  for (const auto& arg : main.facts.cmdline) {
    if (arg.find("celery") != std::string::npos) return "unknown";
  }
  return "none";
}

// Cut after `max` UTF-8 characters.
std::string cut_chars(const std::string& s, std::size_t max) {
  std::size_t chars = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80 && chars++ == max) return s.substr(0, i);
  }
  return s;
}

std::string command_of(const model::ProcessView& p, bool show_secrets) {
  std::string command;
  for (const auto& arg : show_secrets ? p.facts.cmdline : model::redact_command_line(p.facts.cmdline)) {
    command += (command.empty() ? "" : " ") + arg;
  }
  if (command.empty()) command = p.facts.comm;
  return cut_chars(text(command), kCommandChars);
}

json worker_json(const model::Snapshot& s, const WorkerGroup& g, const ReportOptions& o) {
  const auto& main = g.main();
  json pids = json::array();
  for (const auto* p : g.members) pids.push_back(p->facts.pid);
  json w;
  w["name"] = text_or_null(main.agent && main.agent->hello ? main.agent->hello->worker : "");  // the agent's own name
  w["main_pid"] = main.facts.pid;
  w["pids"] = pids;
  w["pool"] = pool_of(main);
  w["command"] = command_of(main, o.show_command_lines);
  w["agent_connected"] = agent_connected(s, main);
  return w;
}

// The agent sends no marker name (only that ready happened): the framework it
// announced tells which hook marked it.
json ready_marker(const model::ProcessView& main) {
  if (!main.agent || !main.agent->ready_rss) return nullptr;
  std::string framework = main.agent->hello ? main.agent->hello->framework : "";
  if (framework == "celery") return "celery_worker_ready";
  if (framework == "django") return "django_ready";
  return "mark_ready";
}

json layers_json(const WorkerGroup& g) {
  const auto& main = g.main();
  const auto& l = g.layers;
  std::optional<double> bootstrap = l ? l->bootstrap_bytes : bootstrap_bytes(main);
  json j;
  j["bootstrap_bytes"] = whole_or_null(bootstrap);
  j["bootstrap_source"] = bootstrap ? main.analysis.bootstrap_source : "unknown";
  j["ecosystem_bytes"] = whole_or_null(l ? l->ecosystem_bytes : std::nullopt);
  j["ready_marker"] = ready_marker(main);
  j["business_bytes"] = whole_or_null(l ? std::optional<double>(l->business_bytes) : std::nullopt);
  j["peak_bytes"] = whole(g.peak.bytes);
  j["peak_source"] = g.peak.source;
  return j;
}

int integrity_rank(const model::ProcessView& p) {
  if (!p.analysis.integrity) return 0;
  return 1 + static_cast<int>(*p.analysis.integrity);  // secure < stable < bloated
}

// The process whose integrity is worst (then the largest residual); null when none has one yet.
const model::ProcessView* worst_integrity(const WorkerGroup& g) {
  const model::ProcessView* worst = nullptr;
  for (const auto* p : g.members) {
    if (!integrity_rank(*p)) continue;
    if (!worst || std::pair(integrity_rank(*p), *p->analysis.residual_bytes) >
                      std::pair(integrity_rank(*worst), *worst->analysis.residual_bytes)) {
      worst = p;
    }
  }
  return worst;
}

// The process with the highest leak level (then probability) among those evaluated.
const model::ProcessView* worst_leak(const WorkerGroup& g) {
  const model::ProcessView* worst = nullptr;
  for (const auto* p : g.members) {
    const auto& l = p->analysis.leak;
    if (!l.evaluated) continue;
    if (!worst || std::pair(l.level, l.probability) > std::pair(worst->analysis.leak.level, worst->analysis.leak.probability)) {
      worst = p;
    }
  }
  return worst;
}

std::string leak_level(const model::ProcessView& p) {
  return p.analysis.leak.evaluated ? std::string(analysis::to_string(p.analysis.leak.level)) : "unknown";
}

std::string held_by(const analysis::BloatAttribution& b) {
  switch (b.holder) {
    case analysis::BloatHolder::python_objects: return "python_objects";
    case analysis::BloatHolder::native_buffers: return "native_buffers";
    case analysis::BloatHolder::mixed: return b.python_object_bytes >= b.native_bytes ? "python_objects" : "native_buffers";
    case analysis::BloatHolder::none: break;
  }
  return "unknown";
}

// Sums of the task records' changes since ready; known only while every task
// end since ready is still in the agent's ring, and carries the change (the
// agent reads the Python blocks on a sample of tasks: docs/agent.md).
std::pair<json, json> deltas_since_ready(const model::ProcessView& p) {
  if (!p.agent || p.agent->tasks_ended == 0 || p.agent->tasks_ended != p.agent->task_ends.size()) return {nullptr, nullptr};
  std::optional<std::int64_t> blocks = 0, anon = 0;
  p.agent->task_ends.for_each([&](const model::TaskEnd& e) {
    blocks = blocks && e.allocated_blocks_delta ? std::optional(*blocks + *e.allocated_blocks_delta) : std::nullopt;
    anon = anon && e.rss_anon_delta ? std::optional(*anon + *e.rss_anon_delta) : std::nullopt;
  });
  return {or_null(blocks), or_null(anon)};
}

json integrity_json(const WorkerGroup& g, const ReportOptions& o) {
  const model::ProcessView* w = worst_integrity(g);
  json j;
  j["status"] = w ? std::string(analysis::to_string(*w->analysis.integrity)) : "unknown";
  j["residual_bytes"] = w ? whole_or_null(w->analysis.residual_bytes) : json(nullptr);
  j["leak_level"] = w ? leak_level(*w) : "unknown";
  j["thresholds"] = {{"medium_bytes", whole(o.thresholds.medium_bytes)}, {"high_bytes", whole(o.thresholds.high_bytes)}};
  j["held_by"] = w ? held_by(w->analysis.bloat) : "unknown";
  j["held_by_reason"] = w && !w->analysis.bloat.reason.empty() ? json(w->analysis.bloat.reason) : json(nullptr);
  j["held_by_capture"] = w && !w->analysis.bloat.capture_id.empty() ? json(w->analysis.bloat.capture_id) : json(nullptr);
  auto [blocks, anon] = w ? deltas_since_ready(*w) : std::pair<json, json>(nullptr, nullptr);
  j["allocated_blocks_delta"] = blocks;
  j["rss_anon_delta_bytes"] = anon;
  json seed;
  seed["level"] = w && w->analysis.seed ? std::string(analysis::to_string(w->analysis.seed->level)) : "unknown";
  seed["residual_bytes"] = j["residual_bytes"];
  seed["peak_bytes"] = whole(g.peak.bytes);
  j["seed_rule"] = seed;
  return j;
}

// The worker cgroup is unreachable (system_context.cgroup says why): no pod-level figure.
constexpr const char* kUnreadReason = "the worker cgroup cannot be read: see system_context.cgroup.missing";

json safety_margin_json(const model::CgroupView& c) {
  const auto& a = c.analysis;
  json j;
  if (!c.facts.has_reading) {
    for (const char* k : {"ratio", "nonreclaimable_ratio", "limit_bytes", "limit_source", "scope", "working_set_bytes",
                          "nonreclaimable_bytes", "oom_risk"}) {
      j[k] = nullptr;
    }
    j["verdict"] = "unknown";
    j["oom_risk_reason"] = kUnreadReason;
    return j;
  }
  j["ratio"] = a.margins.safety;
  j["nonreclaimable_ratio"] = a.margins.nonreclaimable;
  j["limit_bytes"] = c.limit.bytes;
  j["limit_source"] = c.limit.source;
  j["scope"] = std::string(model::to_string(a.scope));
  j["working_set_bytes"] = whole(a.working_set_bytes);
  j["nonreclaimable_bytes"] = whole(a.nonreclaimable_bytes);
  j["verdict"] = std::string(analysis::to_string(a.margin_verdict));
  j["oom_risk"] = a.oom_risk.at_risk;
  j["oom_risk_reason"] = a.oom_risk.reason;
  return j;
}

json footprint_json(const WorkerGroup& g, const model::CgroupView& c) {
  const auto& a = c.analysis;
  if (!c.facts.has_reading) {
    return {{"peak_bytes", whole(g.peak.bytes)}, {"source", g.peak.source}, {"scope", "processes"},
            {"cgroup_peak_bytes", nullptr}, {"limit_ratio", nullptr}, {"verdict", "unknown"}};
  }
  json j;
  j["peak_bytes"] = whole(a.footprint.bytes);
  j["source"] = a.footprint.source;
  j["scope"] = std::string(model::to_string(a.scope));
  j["cgroup_peak_bytes"] = c.facts.last.peak ? json(*c.facts.last.peak) : json(nullptr);
  j["limit_ratio"] = a.margins.limit_bytes > 0 ? a.footprint.bytes / a.margins.limit_bytes : 0;
  j["verdict"] = std::string(analysis::to_string(a.footprint_verdict));
  return j;
}

json allocation_speed_json(const WorkerGroup& g, const ReportOptions& o) {
  std::optional<double> best;
  json pid = nullptr, function = nullptr;
  for (const auto* p : g.members) {
    const bool measured = p->facts.timeline.size() >= 2 || g.exit_of(*p);  // an ended member keeps its last speed
    if (measured && (!best || p->analysis.allocation_bytes_per_second > *best)) {
      best = p->analysis.allocation_bytes_per_second;
      pid = p->facts.pid;
      function = nullptr;
    }
    if (!p->agent) continue;
    p->agent->recent_calls.for_each([&](const model::CallSpan& call) {
      if (call.duration_seconds < kCallSpeedMinSeconds || call.gross_bytes < kCallSpeedMinBytes) return;
      double speed = analysis::call_allocation_speed(static_cast<double>(call.gross_bytes), call.duration_seconds);
      if (!best || speed > *best) {
        best = speed;
        pid = p->facts.pid;
        function = text(call.function);
      }
    });
  }
  json j;
  j["bytes_per_second"] = or_null(best);
  j["threshold_bytes_per_second"] = o.greedy_bytes_per_second;
  j["pid"] = pid;
  j["function"] = function;
  j["verdict"] = !best ? "unknown" : analysis::is_greedy(*best, o.greedy_bytes_per_second) ? "greedy" : "moderate";
  return j;
}

json leak_probability_json(const WorkerGroup& g) {
  const model::ProcessView* w = worst_leak(g);
  json j;
  if (!w) {
    std::size_t window = 0;
    for (const auto* p : g.members) window = std::max(window, p->analysis.leak.samples);
    j["probability"] = nullptr;
    j["trend_probability"] = nullptr;
    j["level"] = "unknown";
    j["rate_bytes_per_task"] = nullptr;
    j["rate_bytes_per_second"] = nullptr;
    j["window_tasks"] = window;
    j["pid"] = nullptr;
    return j;
  }
  const auto& l = w->analysis.leak;
  j["probability"] = l.probability;
  j["trend_probability"] = l.trend_probability;
  j["level"] = leak_level(*w);
  // Without task boundaries the series is per-bucket minima: there is no per-task rate.
  j["rate_bytes_per_task"] = w->analysis.leak_series == "residual" ? json(l.rate_per_x) : json(nullptr);
  j["rate_bytes_per_second"] = l.rate_bytes_per_s;
  j["window_tasks"] = l.samples;
  j["pid"] = w->facts.pid;
  return j;
}

json time_to_oom_json(const model::CgroupView& c) {
  const auto& t = c.analysis.time_to_oom;
  return {{"seconds", t ? json(t->seconds) : json(nullptr)},
          {"growth_bytes_per_second", t ? json(t->growth_bytes_per_s) : json(nullptr)},
          {"window_seconds", t ? json(t->window_seconds) : json(nullptr)},
          {"scope", std::string(model::to_string(c.analysis.scope))}};
}

json celery_json(const model::CgroupView& c) {
  const auto& celery = c.analysis.celery;
  if (!celery) return nullptr;
  json j;
  j["max_memory_per_child_kib"] = celery->kib;
  j["max_memory_per_child_reason"] = celery->reason;
  j["trap"] = celery->trap;
  j["trap_reason"] = celery->trap ? json(celery->trap_reason) : json(nullptr);
  j["max_tasks_per_child"] = or_null(celery->max_tasks_per_child);
  j["max_tasks_per_child_reason"] = celery->max_tasks_per_child ? json(celery->max_tasks_reason) : json(nullptr);
  return j;
}

json recommendation_json(const model::CgroupView& c, const ReportOptions& o) {
  const auto& a = c.analysis;
  if (!c.facts.has_reading) {
    json j;
    for (const char* k : {"limit_bytes", "limit_quantity", "request_bytes", "request_quantity", "leak_allowance_bytes",
                          "celery_max_memory_per_child_kib", "celery", "resources_snippet"}) {
      j[k] = nullptr;
    }
    j["limit_reason"] = j["request_reason"] = kUnreadReason;
    j["headroom_ratio"] = o.headroom;
    j["restart_horizon_seconds"] = o.restart_horizon_seconds;
    j["recycle_instead"] = a.recommended_limit.recycle_instead;
    j["above_node_memory"] = false;
    return j;
  }
  const std::string limit = analysis::format_quantity(a.recommended_limit.bytes);
  const std::string request = analysis::format_quantity(a.recommended_request.bytes);
  json j;
  j["limit_bytes"] = whole(a.recommended_limit.bytes);
  j["limit_quantity"] = limit;
  j["limit_reason"] = a.recommended_limit.reason;
  j["request_bytes"] = whole(a.recommended_request.bytes);
  j["request_quantity"] = request;
  j["request_reason"] = a.recommended_request.reason;
  j["headroom_ratio"] = o.headroom;
  j["leak_allowance_bytes"] = whole(a.recommended_limit.leak_allowance_bytes);
  j["restart_horizon_seconds"] = o.restart_horizon_seconds;
  j["recycle_instead"] = a.recommended_limit.recycle_instead;
  j["above_node_memory"] = a.recommended_limit.above_node_memory;
  j["celery_max_memory_per_child_kib"] = a.celery ? json(a.celery->kib) : json(nullptr);
  j["celery"] = celery_json(c);
  j["resources_snippet"] = "resources:\n  requests:\n    memory: " + request + "\n  limits:\n    memory: " + limit + "\n";
  return j;
}

json imports_json(const model::ProcessView& main) {
  json out = json::array();
  if (!main.agent) return out;
  auto imports = main.agent->imports;
  std::stable_sort(imports.begin(), imports.end(), [](const auto& a, const auto& b) { return a.bytes > b.bytes; });
  if (imports.size() > kImports) imports.resize(kImports);
  for (const auto& i : imports) out.push_back({{"module", text(i.module)}, {"bytes", i.bytes}});
  return out;
}

// How a member that ended ended: an OOM kill the forensics attributed to it, else an exit.
json end_json(const model::Snapshot& s, const model::ExitedProcess& e) {
  constexpr double kAttributionSlackSeconds = 60;  // an inferred kill is settled a few intervals later
  for (const auto& k : s.oom_kills) {
    if (k.pid == e.pid && k.time >= e.started && k.time <= e.ended + kAttributionSlackSeconds) {
      return {{"at", e.ended}, {"reason", "oom_killed"}, {"task", text_or_null(k.task == "unknown" ? "" : k.task)}};
    }
  }
  return {{"at", e.ended}, {"reason", "exited"}, {"task", text_or_null(e.last_task)}};
}

json process_json(const model::Snapshot& s, const WorkerGroup& g, const model::ProcessView& p) {
  const auto& a = p.analysis;
  const auto& status = p.facts.status;
  const model::ExitedProcess* ended = g.exit_of(p);
  json j;
  j["pid"] = p.facts.pid;
  j["state"] = ended ? "ended" : "running";
  j["end"] = ended ? end_json(s, *ended) : json(nullptr);
  j["role"] = std::string(analysis::to_string(p.role));
  j["worker"] = text_or_null(p.worker);
  j["rss_bytes"] = status ? status->vm_rss : p.facts.timeline.empty() ? 0 : p.facts.timeline.back().rss;
  j["pss_bytes"] = p.facts.smaps ? json(p.facts.smaps->pss) : json(nullptr);
  j["uss_bytes"] = p.facts.smaps ? json(p.facts.smaps->uss()) : json(nullptr);
  j["peak_rss_bytes"] = status ? json(status->vm_hwm) : json(nullptr);
  const auto& l = a.layers;
  j["layers"] = {{"bootstrap_bytes", whole_or_null(l ? l->bootstrap_bytes : std::nullopt)},
                 {"ecosystem_bytes", whole_or_null(l ? l->ecosystem_bytes : std::nullopt)},
                 {"business_bytes", whole_or_null(l ? std::optional<double>(l->business_bytes) : std::nullopt)}};
  j["residual_bytes"] = whole_or_null(a.residual_bytes);
  j["integrity"] = a.integrity ? std::string(analysis::to_string(*a.integrity)) : "unknown";
  j["leak_level"] = leak_level(p);
  j["leak_probability"] = a.leak.evaluated ? json(a.leak.probability) : json(nullptr);
  j["allocation_bytes_per_second"] = a.allocation_bytes_per_second;
  j["expansion_factor"] = l ? json(l->expansion_factor) : json(nullptr);
  j["infrastructure_share"] = l ? json(l->infrastructure_share) : json(nullptr);
  return j;
}

}  // namespace

json executive_section(const model::Snapshot& s, const WorkerGroup& g, const ReportOptions& o) {
  const model::CgroupView& c = *g.cgroup;
  json e;
  e["worker"] = worker_json(s, g, o);
  e["layers"] = layers_json(g);
  e["integrity"] = integrity_json(g, o);
  e["kpis"] = {{"safety_margin", safety_margin_json(c)},
               {"footprint", footprint_json(g, c)},
               {"allocation_speed", allocation_speed_json(g, o)},
               {"leak_probability", leak_probability_json(g)}};
  e["time_to_oom"] = time_to_oom_json(c);
  e["recommendation"] = recommendation_json(c, o);
  e["imports"] = imports_json(g.main());
  json processes = json::array();
  for (const auto* p : g.members) processes.push_back(process_json(s, g, *p));
  e["processes"] = processes;
  return e;
}

}  // namespace ramflow::exporter::detail
