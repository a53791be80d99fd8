// The report schema read from docs/report.md itself (its field tables), so a
// field added to the doc and not to the builder fails the test. Object arrays
// the doc describes in prose (tasks, spans, imports, oom_kills.recent,
// configuration) are listed in report_schema.cpp.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace ramflow::exporter::testing {

struct FieldSpec {
  std::string path;  // "executive.kpis.safety_margin.ratio", "execution_flow.timelines[].pid"
  std::string type;  // the doc's type cell, e.g. "int \| null", "`cgroup` \| `host`"
};

// Throws std::runtime_error when the doc cannot be read or a type is not understood.
std::vector<FieldSpec> documented_fields(const std::string& report_md_path);

// Every problem found: a documented field missing or of the wrong type, a null
// where none is allowed, an enum value not listed, a field not documented.
std::vector<std::string> schema_problems(const nlohmann::json& report, const std::vector<FieldSpec>& fields);

}  // namespace ramflow::exporter::testing
