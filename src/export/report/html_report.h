// The standalone HTML report: the dashboard (index.html) with style.css, the
// report JSON and app.js inlined, so it opens from file:// with no network.
// Mirrors tests/ui/build-standalone.mjs byte for byte (contract: docs/report.md).
//
//   std::string html = standalone_html(build_report(snapshot, options));
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace ramflow::exporter {

// Thrown when the assets break the contract (a marker line missing, an asset
// that would end its element early); the message says what to restore.
class StandaloneHtmlError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// With the embedded assets.
std::string standalone_html(const nlohmann::json& report);

// With the given assets (tests, or a UI directory on disk).
std::string standalone_html(std::string_view index_html, std::string_view style_css, std::string_view app_js,
                            const nlohmann::json& report);

}  // namespace ramflow::exporter
