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
  r.peak_reason = "worker group footprint (" + at(report, "executive.kpis.footprint.source").get<std::string>() + ", " +
                  at(report, "executive.kpis.footprint.scope").get<std::string>() +
                  " scope) over this sidecar's lifetime (for fleet history use --prometheus)";
  const auto& rec = at(report, "executive.recommendation");
  r.limit_bytes = number(report, "executive.recommendation.limit_bytes");
  r.limit_reason = at(report, "executive.recommendation.limit_reason").get<std::string>();
  r.request_bytes = number(report, "executive.recommendation.request_bytes");
  r.request_reason = at(report, "executive.recommendation.request_reason").get<std::string>();
  if (const auto& celery = rec.value("celery", nlohmann::json()); celery.is_object()) {
    r.celery_max_memory_per_child_kib = celery.at("max_memory_per_child_kib").get<std::int64_t>();
    r.celery_reason = celery.at("max_memory_per_child_reason").get<std::string>();
    if (celery.at("max_tasks_per_child").is_number()) {
      r.celery_max_tasks_per_child = celery.at("max_tasks_per_child").get<std::int64_t>();
      r.celery_max_tasks_reason = celery.at("max_tasks_per_child_reason").get<std::string>();
    }
  }
  if (rec.value("recycle_instead", false)) {
    r.leak_advice = r.celery_max_tasks_per_child
                        ? "the leak is high: no limit fixes a leak — recycle children with worker_max_tasks_per_child "
                          "(below) until it is fixed"
                        : "the leak is high: no limit fixes a leak — fix it, or restart the worker before it grows "
                          "past the headroom";
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
  if (r.celery_max_tasks_per_child) {
    out << "  Celery               worker_max_tasks_per_child = " << *r.celery_max_tasks_per_child << "   "
        << r.celery_max_tasks_reason << "\n";
  }
  if (!r.leak_advice.empty()) out << "\n  " << r.leak_advice << "\n";
  out << "\nContainer spec:\n"
      << "resources:\n  requests:\n    memory: " << format_quantity(r.request_bytes) << "\n  limits:\n    memory: "
      << format_quantity(r.limit_bytes) << "\n";
  out << "\nHelm values (helm/ramflow):\n"
      << "worker:\n  resources:\n    requests:\n      memory: " << format_quantity(r.request_bytes)
      << "\n    limits:\n      memory: " << format_quantity(r.limit_bytes) << "\n";
  if (r.celery_max_memory_per_child_kib) {
    out << "\nCelery (celeryconfig.py, or --max-memory-per-child / --max-tasks-per-child):\n"
        << "worker_max_memory_per_child = " << *r.celery_max_memory_per_child_kib << "  # KiB\n";
    if (r.celery_max_tasks_per_child) out << "worker_max_tasks_per_child = " << *r.celery_max_tasks_per_child << "\n";
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
      {"celery_max_tasks_per_child",
       r.celery_max_tasks_per_child ? nlohmann::json(*r.celery_max_tasks_per_child) : nlohmann::json(nullptr)},
      {"leak_advice", r.leak_advice.empty() ? nlohmann::json(nullptr) : nlohmann::json(r.leak_advice)},
  };
  return j;
}

}  // namespace ramflow::exporter
