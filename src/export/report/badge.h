// /badge.svg: the integrity badge, "ramflow | SECURE" in the shields.io flat
// style, as plain SVG (no script, no external reference) for a README or a wiki.
//
//   std::string svg = report_badge_svg(build_report(snapshot, options));
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace ramflow::exporter {

// status: "secure", "stable", "bloated" or "unknown" (the report's
// executive.integrity.status); anything else throws std::invalid_argument.
std::string integrity_badge_svg(std::string_view status);

// The badge of a report (executive.integrity.status).
std::string report_badge_svg(const nlohmann::json& report);

}  // namespace ramflow::exporter
