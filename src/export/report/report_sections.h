// Internal to the report: one builder per section of docs/report.md, and the
// few conversions they share (null for unknown, whole bytes, valid UTF-8).
#pragma once

#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "export/report/report_group.h"
#include "export/report/report_json.h"

namespace ramflow::exporter::detail {

nlohmann::json executive_section(const model::Snapshot& s, const WorkerGroup& g, const ReportOptions& o);
nlohmann::json execution_flow_section(const model::Snapshot& s, const WorkerGroup& g, const ReportOptions& o);
nlohmann::json system_context_section(const model::Snapshot& s, const WorkerGroup& g, const ReportOptions& o);

// Sizes are integers in the report.
inline std::int64_t whole(double bytes) { return static_cast<std::int64_t>(std::llround(bytes)); }

inline nlohmann::json whole_or_null(const std::optional<double>& bytes) {
  return bytes ? nlohmann::json(whole(*bytes)) : nlohmann::json(nullptr);
}

template <class T>
nlohmann::json or_null(const std::optional<T>& value) {
  return value ? nlohmann::json(*value) : nlohmann::json(nullptr);
}

// Text from /proc or from an agent as valid UTF-8 (bad bytes become U+FFFD),
// so the document always serializes.
std::string text(std::string_view raw);

inline nlohmann::json text_or_null(std::string_view raw) {
  return raw.empty() ? nlohmann::json(nullptr) : nlohmann::json(text(raw));
}

// The agent of `p` spoke in the last minute.
bool agent_connected(const model::Snapshot& s, const model::ProcessView& p);

}  // namespace ramflow::exporter::detail
