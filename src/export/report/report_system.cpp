// system_context: expansion journey, ecosystem share, host and cgroup facts,
// pressure, OOM kills, eBPF, agent counters and the configuration in force.
#include <algorithm>

#include "analysis/layers.h"
#include "export/report/report_sections.h"

namespace ramflow::exporter::detail {
namespace {

using nlohmann::json;

constexpr std::size_t kRecentOomKills = 20;

json expansion_json(const WorkerGroup& g) {
  const auto& l = g.layers;
  const bool known = l && l->infrastructure_bytes > 0;
  json j;
  j["infrastructure_bytes"] = known ? json(whole(l->infrastructure_bytes)) : json(nullptr);
  j["peak_bytes"] = whole(g.peak.bytes);
  j["factor"] = known ? json(l->expansion_factor) : json(nullptr);
  return j;
}

json ecosystem_share_json(const WorkerGroup& g) {
  const auto& l = g.layers;
  const bool known = l && l->peak_bytes > 0;
  json j;
  j["ratio"] = known ? json(l->infrastructure_share) : json(nullptr);
  j["threshold_ratio"] = analysis::kRealityCheckShare;
  j["reality_check"] = known && l->reality_check;
  return j;
}

json host_json(const model::Snapshot& s, const ReportOptions& o) {
  json j;
  j["hostname"] = text(o.host.hostname);
  j["kernel"] = text(o.host.kernel);
  j["cpus"] = o.host.cpus;
  j["mem_total_bytes"] = s.host_memory ? json(s.host_memory->mem_total) : json(nullptr);
  j["mem_available_bytes"] = s.host_memory ? json(s.host_memory->mem_available) : json(nullptr);
  return j;
}

// RAMFLOW_MEMORY_LIMIT_BYTES against the cgroup's limit: shown, never used as the limit.
std::string declared_limit_check(const model::CgroupView& c) {
  if (!c.declared_limit) return "absent";
  if (!c.facts.has_reading) return "unchecked";
  return c.facts.last.limit == c.declared_limit ? "agrees" : "differs";
}

json cgroup_json(const model::Snapshot& s, const model::CgroupView& c) {
  const auto& m = c.facts.last;
  const bool read = c.facts.has_reading;
  json j;
  j["version"] = std::string(probe::to_string(s.cgroup_version));
  j["path"] = text(c.facts.path);
  j["route"] = std::string(probe::to_string(c.location.route));
  j["route_dir"] = text_or_null(c.location.dir);
  j["missing"] = text_or_null(c.location.missing);
  j["remedy"] = text_or_null(c.location.remedy);
  j["declared_limit_bytes"] = or_null(c.declared_limit);
  j["declared_limit_check"] = declared_limit_check(c);
  j["limit_bytes"] = read ? json(c.limit.bytes) : json(nullptr);
  j["limit_source"] = read ? json(c.limit.source) : json(nullptr);
  j["usage_bytes"] = read ? json(m.usage) : json(nullptr);
  j["working_set_bytes"] = read ? json(m.working_set()) : json(nullptr);
  j["nonreclaimable_bytes"] = read ? json(m.nonreclaimable()) : json(nullptr);
  j["peak_bytes"] = read ? or_null(m.peak) : json(nullptr);
  return j;
}

json pressure_json(const model::Snapshot& s, const model::CgroupView& c) {
  json j;
  if (!c.pressure) {
    j["scope"] = "unavailable";
    j["some_avg10_ratio"] = nullptr;
    j["full_avg10_ratio"] = nullptr;
    j["note"] = "no PSI on this kernel (CONFIG_PSI off or booted with psi=0): /proc/pressure/memory is missing";
    return j;
  }
  j["scope"] = c.pressure_scope;
  j["some_avg10_ratio"] = c.pressure->some_avg10 / 100.0;
  j["full_avg10_ratio"] = c.pressure->has_full ? json(c.pressure->full_avg10 / 100.0) : json(nullptr);
  if (c.pressure_scope == "cgroup") j["note"] = nullptr;
  else if (s.cgroup_version == probe::CgroupVersion::kV1) j["note"] = "cgroup v1 has no per-cgroup PSI: host-wide /proc/pressure/memory";
  else j["note"] = "the cgroup has no memory.pressure: host-wide /proc/pressure/memory";
  return j;
}

json oom_kills_json(const model::Snapshot& s, const model::CgroupView& c) {
  std::uint64_t total = 0;
  for (const auto& n : s.oom_counts) {
    if (n.cgroup == c.facts.path) total += n.kills;
  }
  json recent = json::array();
  for (auto it = s.oom_kills.rbegin(); it != s.oom_kills.rend() && recent.size() < kRecentOomKills; ++it) {
    if (it->cgroup != c.facts.path) continue;
    json k;
    k["time"] = it->time;
    k["pid"] = it->pid;
    k["comm"] = text(it->comm);
    k["task"] = it->task.empty() || it->task == "unknown" ? json(nullptr) : json(text(it->task));
    k["rss_at_death_bytes"] = it->rss_at_death > 0 ? json(it->rss_at_death) : json(nullptr);
    k["last_residual_bytes"] = it->last_residual ? json(*it->last_residual) : json(nullptr);
    k["leak_level"] = it->leak_level.empty() ? json("unknown") : json(it->leak_level);
    k["source"] = it->source;
    k["allocation_capture"] = text_or_null(it->capture_id);
    recent.push_back(k);
  }
  return {{"total", total}, {"recent", recent}};
}

json ebpf_json(const model::Snapshot& s) {
  if (s.ebpf_active) return {{"state", "active"}, {"reason", nullptr}};
  const bool disabled = s.ebpf_status.rfind("disabled", 0) == 0;
  return {{"state", disabled ? "disabled" : "unavailable"}, {"reason", text_or_null(s.ebpf_status)}};
}

json agent_json(const model::Snapshot& s) {
  const auto& c = s.agent_counters;
  std::uint64_t accepted = 0, rejected = c.refused_peers;
  for (const auto& [type, n] : c.accepted_by_type) accepted += n;
  for (const auto& [reason, n] : c.rejected_by_reason) rejected += n;
  json j;
  j["connected_processes"] = s.agent_connected_processes;
  j["events_total"] = accepted;
  j["rejected_total"] = rejected;
  j["dropped_total"] = c.dropped_in_agent + c.sequence_gaps;
  return j;
}

// Each setting with where it came from (file, env, flag or default; null when not known).
json configuration_json(const model::Snapshot& s) {
  json out = json::array();
  if (!s.configuration) return out;
  for (const auto& [key, value] : s.configuration->settings) {
    const auto& sources = s.configuration->sources;
    auto origin = sources.find(key);
    out.push_back({{"key", text(key)}, {"value", text(value)}, {"source", origin != sources.end() ? json(origin->second) : json(nullptr)}});
  }
  return out;
}

}  // namespace

json system_context_section(const model::Snapshot& s, const WorkerGroup& g, const ReportOptions& o) {
  const model::CgroupView& c = *g.cgroup;
  json j;
  j["expansion"] = expansion_json(g);
  j["ecosystem_share"] = ecosystem_share_json(g);
  j["host"] = host_json(s, o);
  j["cgroup"] = cgroup_json(s, c);
  j["pressure"] = pressure_json(s, c);
  j["oom_kills"] = oom_kills_json(s, c);
  j["ebpf"] = ebpf_json(s);
  j["agent"] = agent_json(s);
  j["configuration"] = configuration_json(s);
  return j;
}

}  // namespace ramflow::exporter::detail
