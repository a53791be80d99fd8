#include "export/report/readout.h"

#include <cmath>
#include <sstream>
#include <stdexcept>

#include "analysis/recommend.h"

namespace ramflow::exporter {
namespace {

std::string mib(double bytes) {
  std::ostringstream out;
  out.setf(std::ios::fixed);
  out.precision(1);
  out << bytes / (1024.0 * 1024.0) << " MiB";
  return out.str();
}

const nlohmann::json& at(const nlohmann::json& j, const char* path) {
  const nlohmann::json* node = &j;
  std::string p(path);
  std::size_t start = 0;
  while (start <= p.size()) {
    auto dot = p.find('.', start);
    std::string key = p.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (!node->is_object() || !node->contains(key)) {
      throw std::runtime_error(std::string("the report has no field ") + path +
                               " — is the URL a ramflowd sidecar (http://HOST:9977)?");
    }
    node = &(*node)[key];
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return *node;
}

double number(const nlohmann::json& j, const char* path) {
  const auto& v = at(j, path);
  if (!v.is_number()) throw std::runtime_error(std::string("field ") + path + " is not a number");
  return v.get<double>();
}

}  // namespace

Readout readout_from_report(const nlohmann::json& report) {
  Readout r;
  r.scope = "cgroup " + at(report, "cgroup").get<std::string>();
  r.peak_bytes = number(report, "executive.kpis.footprint.peak_bytes");
  r.peak_reason = "pod footprint from " + at(report, "executive.kpis.footprint.source").get<std::string>() +
                  " over this sidecar's lifetime (for fleet history use --prometheus)";
  const auto& rec = at(report, "executive.recommendation");
  r.limit_bytes = number(report, "executive.recommendation.limit_bytes");
  r.request_bytes = number(report, "executive.recommendation.request_bytes");
  double headroom = number(report, "executive.recommendation.headroom_ratio");
  double leak = number(report, "executive.recommendation.leak_allowance_bytes");
  std::ostringstream limit;
  limit << "peak " << mib(r.peak_bytes) << " + " << std::lround(headroom * 100) << " % headroom";
  if (leak > 0) limit << " + leak allowance " << mib(leak) << " over the restart horizon";
  if (rec.contains("oom_victim_floor_bytes") && rec["oom_victim_floor_bytes"].is_number()) {
    limit << "; raised to cover an OOM victim's " << mib(rec["oom_victim_floor_bytes"].get<double>());
  }
  limit << ", rounded up to a whole Mi";
  r.limit_reason = limit.str();
  r.request_reason = "p90 of per-bucket working-set peaks x 1.15 (the Vertical Pod Autoscaler's habit)";
  if (rec.contains("celery_max_memory_per_child_kib") && rec["celery_max_memory_per_child_kib"].is_number()) {
    r.celery_max_memory_per_child_kib = rec["celery_max_memory_per_child_kib"].get<std::int64_t>();
    r.celery_reason = "per-child budget so that concurrency x budget + the main process fit the recommended limit";
  }
  if (at(report, "executive.kpis.safety_margin.limit_source").get<std::string>() == "cgroup") {
    r.current_limit_bytes = number(report, "executive.kpis.safety_margin.limit_bytes");
  }
  return r;
}

std::string format_readout_text(const Readout& r) {
  using analysis::format_quantity;
  std::ostringstream out;
  out << "ramflow recommendation for " << r.scope << "\n\n";
  out << "  current peak         " << mib(r.peak_bytes) << "   " << r.peak_reason << "\n";
  out << "  current limit        " << (r.current_limit_bytes ? format_quantity(*r.current_limit_bytes) : "none (host memory)")
      << "\n";
  out << "  recommended request  " << format_quantity(r.request_bytes) << "   " << r.request_reason << "\n";
  out << "  recommended limit    " << format_quantity(r.limit_bytes) << "   " << r.limit_reason << "\n";
  if (r.celery_max_memory_per_child_kib) {
    out << "  Celery               worker_max_memory_per_child = " << *r.celery_max_memory_per_child_kib << " (KiB)   "
        << r.celery_reason << "\n";
  }
  out << "\nContainer spec:\n"
      << "resources:\n  requests:\n    memory: " << format_quantity(r.request_bytes) << "\n  limits:\n    memory: "
      << format_quantity(r.limit_bytes) << "\n";
  out << "\nHelm values (helm/ramflow):\n"
      << "worker:\n  resources:\n    requests:\n      memory: " << format_quantity(r.request_bytes)
      << "\n    limits:\n      memory: " << format_quantity(r.limit_bytes) << "\n";
  if (r.celery_max_memory_per_child_kib) {
    out << "\nCelery (celeryconfig.py, or --max-memory-per-child):\n"
        << "worker_max_memory_per_child = " << *r.celery_max_memory_per_child_kib << "  # KiB\n";
  }
  return out.str();
}

nlohmann::json format_readout_json(const Readout& r) {
  nlohmann::json j = {
      {"scope", r.scope},
      {"peak_bytes", r.peak_bytes},
      {"request", {{"bytes", r.request_bytes}, {"quantity", analysis::format_quantity(r.request_bytes)}, {"reason", r.request_reason}}},
      {"limit", {{"bytes", r.limit_bytes}, {"quantity", analysis::format_quantity(r.limit_bytes)}, {"reason", r.limit_reason}}},
      {"current_limit_bytes", r.current_limit_bytes ? nlohmann::json(*r.current_limit_bytes) : nlohmann::json(nullptr)},
      {"celery_max_memory_per_child_kib",
       r.celery_max_memory_per_child_kib ? nlohmann::json(*r.celery_max_memory_per_child_kib) : nlohmann::json(nullptr)},
  };
  return j;
}

}  // namespace ramflow::exporter
