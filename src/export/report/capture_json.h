// An allocation-site capture as the report, `ramflowd capture` and `ramflowd
// report` show it (docs/report.md, execution_flow.allocation_sites).
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "model/allocation_capture.h"

namespace ramflow::exporter {

nlohmann::json capture_json(const model::AllocationCapture& capture);

// A few lines for a terminal: status, window, growth split, the top sites
// with their tracebacks. `capture` is capture_json()'s document.
std::string format_capture_text(const nlohmann::json& capture, std::size_t sites = 5);

}  // namespace ramflow::exporter
