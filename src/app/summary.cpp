#include "app/summary.h"

#include <cstdio>
#include <sstream>

namespace ramflow::app {
namespace {

std::string mib(const nlohmann::json& v) {
  if (!v.is_number()) return "unknown";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f MiB", v.get<double>() / (1024.0 * 1024.0));
  return buf;
}

std::string percent(const nlohmann::json& v) {
  if (!v.is_number()) return "unknown";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f %%", v.get<double>() * 100);
  return buf;
}

std::string text(const nlohmann::json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_null()) return "unknown";
  return v.dump();
}

const nlohmann::json& get(const nlohmann::json& j, std::initializer_list<const char*> path) {
  static const nlohmann::json null;
  const nlohmann::json* node = &j;
  for (const char* key : path) {
    if (!node->is_object() || !node->contains(key)) return null;
    node = &(*node)[key];
  }
  return *node;
}

std::string upper(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

std::string executive_summary(const nlohmann::json& r) {
  std::ostringstream out;
  const auto& ex = get(r, {"executive"});
  const auto& layers = get(ex, {"layers"});
  const auto& kpis = get(ex, {"kpis"});
  out << "\n== ramflow executive summary ==\n";
  out << "Layers      bootstrap " << mib(layers["bootstrap_bytes"]) << " | ecosystem " << mib(layers["ecosystem_bytes"])
      << " | business " << mib(layers["business_bytes"]) << " | peak " << mib(layers["peak_bytes"]) << "\n";
  const auto& integrity = get(ex, {"integrity"});
  out << "Integrity   " << upper(text(integrity["status"])) << " (residual " << mib(integrity["residual_bytes"])
      << ", held by " << text(integrity["held_by"])
      << (integrity["held_by_capture"].is_string() ? " as measured by capture " + text(integrity["held_by_capture"]) : "")
      << "; python-ram-flow rule: " << text(get(integrity, {"seed_rule", "level"})) << ")\n";
  out << "Safety margin      " << percent(get(kpis, {"safety_margin", "ratio"})) << " of "
      << mib(get(kpis, {"safety_margin", "limit_bytes"})) << " (" << text(get(kpis, {"safety_margin", "limit_source"}))
      << " limit), non-reclaimable margin " << percent(get(kpis, {"safety_margin", "nonreclaimable_ratio"})) << "\n";
  out << "Footprint          " << mib(get(kpis, {"footprint", "peak_bytes"})) << " (" << text(get(kpis, {"footprint", "source"}))
      << ", " << text(get(kpis, {"footprint", "scope"})) << " scope; cgroup peak incl. page cache "
      << mib(get(kpis, {"footprint", "cgroup_peak_bytes"})) << ")\n";
  const auto& speed = get(kpis, {"allocation_speed", "bytes_per_second"});
  out << "Allocation speed   " << (speed.is_number() ? mib(speed) + "/s" : "unknown") << " ("
      << text(get(kpis, {"allocation_speed", "verdict"})) << ")\n";
  out << "Leak               " << upper(text(get(kpis, {"leak_probability", "level"}))) << " (leak probability "
      << percent(get(kpis, {"leak_probability", "probability"})) << "; trend confidence "
      << percent(get(kpis, {"leak_probability", "trend_probability"})) << ")\n";
  const auto& tto = get(ex, {"time_to_oom", "seconds"});
  out << "Time to OOM        " << (tto.is_number() ? std::to_string(static_cast<long long>(tto.get<double>())) + " s" : "not growing")
      << "\n";
  out << "\nTop net-self culprits:\n";
  const auto& rows = get(r, {"execution_flow", "net_self", "rows"});
  int shown = 0;
  if (rows.is_array()) {
    for (const auto& row : rows) {
      if (shown == 5) break;
      out << "  " << ++shown << ". " << text(row["function"]) << " (" << text(row["kind"]) << "): retained "
          << mib(row["net_self_bytes"]) << " over " << text(row["calls"]) << " calls\n";
    }
  }
  if (shown == 0) out << "  (no tracked calls)\n";
  const auto& processes = get(ex, {"processes"});
  if (processes.is_array()) {
    bool header = false;
    for (const auto& p : processes) {
      if (p.value("state", "") != "ended") continue;
      if (!header) out << "\nProcesses that ended:\n";
      header = true;
      const auto& end = p["end"];
      out << "  pid " << text(p["pid"]) << " (" << text(p["role"]) << ") " << text(end["reason"])
          << (end["task"].is_string() ? " during " + end["task"].get<std::string>() : std::string()) << ": peak "
          << mib(p["peak_rss_bytes"]) << ", residual " << mib(p["residual_bytes"]) << ", integrity "
          << upper(text(p["integrity"])) << ", leak " << upper(text(p["leak_level"])) << "\n";
    }
  }
  const auto& rec = get(ex, {"recommendation"});
  out << "\nRecommended limit  " << text(rec["limit_quantity"]) << "   " << text(rec["limit_reason"]) << "\n";
  out << "Recommended request " << text(rec["request_quantity"]) << "  " << text(rec["request_reason"]) << "\n";
  const auto& celery = rec["celery"];
  if (celery.is_object()) {
    out << "Celery worker_max_memory_per_child = " << text(celery["max_memory_per_child_kib"]) << " KiB   "
        << text(celery["max_memory_per_child_reason"]) << "\n";
    if (celery["max_tasks_per_child"].is_number()) {
      out << "Celery worker_max_tasks_per_child = " << text(celery["max_tasks_per_child"]) << "   "
          << text(celery["max_tasks_per_child_reason"]) << "\n";
    }
    if (celery.value("trap", false)) out << "Warning: " << text(celery["trap_reason"]) << "\n";
  }
  if (rec.value("recycle_instead", false)) {
    out << "The leak is high: no limit fixes a leak. Fix it, or recycle the worker"
        << (celery.is_object() ? " (worker_max_tasks_per_child above)" : "") << " until it is fixed.\n";
  }
  if (rec["resources_snippet"].is_string()) out << rec["resources_snippet"].get<std::string>();
  return out.str();
}

}  // namespace ramflow::app
