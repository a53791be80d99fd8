// The recommendation a person acts on (`ramflowd recommend`): figures, one
// line of reasoning each, and ready-to-paste snippets for a container
// `resources:` block, the Helm chart's values and Celery's setting.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace ramflow::exporter {

struct Readout {
  std::string scope;  // what the figures describe: a pod's cgroup or a fleet selector
  double peak_bytes = 0;
  std::string peak_reason;
  double request_bytes = 0;
  std::string request_reason;
  double limit_bytes = 0;
  std::string limit_reason;
  std::optional<std::int64_t> celery_max_memory_per_child_kib;
  std::string celery_reason;
  std::optional<std::int64_t> celery_max_tasks_per_child;
  std::string celery_max_tasks_reason;
  // A high leak: no limit fixes it; this says what does.
  std::string leak_advice;
  std::optional<double> current_limit_bytes;
};

// From a /api/v1/report document (docs/report.md). Throws std::runtime_error
// naming the missing field when the document is not a ramflow report.
Readout readout_from_report(const nlohmann::json& report);
std::string format_readout_text(const Readout& r);
nlohmann::json format_readout_json(const Readout& r);

}  // namespace ramflow::exporter
