#include "export/report/html_report.h"

#include <algorithm>
#include <cctype>
#include <vector>

#include "export/report/js_json.h"
#include "export/ui/ui_assets.h"

namespace ramflow::exporter {
namespace {

constexpr std::string_view kStyleMarker = R"(<link rel="stylesheet" href="style.css">)";
constexpr std::string_view kReportMarker = "<!-- ramflow-report -->";
constexpr std::string_view kScriptMarker = R"(<script src="app.js"></script>)";

bool contains_ignoring_case(std::string_view text, std::string_view needle) {
  auto it = std::search(text.begin(), text.end(), needle.begin(), needle.end(), [](char a, char b) {
    return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
  });
  return it != text.end();
}

std::string_view trim(std::string_view line) {
  constexpr std::string_view kSpace = " \t\r\n\v\f";
  auto first = line.find_first_not_of(kSpace);
  if (first == std::string_view::npos) return {};
  return line.substr(first, line.find_last_not_of(kSpace) - first + 1);
}

std::vector<std::string> split_lines(std::string_view text) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  for (std::size_t nl; (nl = text.find('\n', start)) != std::string_view::npos; start = nl + 1) {
    lines.emplace_back(text.substr(start, nl - start));
  }
  lines.emplace_back(text.substr(start));
  return lines;
}

void replace_marker(std::vector<std::string>& lines, std::string_view marker, std::string text) {
  auto it = std::find_if(lines.begin(), lines.end(), [&](const std::string& l) { return trim(l) == marker; });
  if (it == lines.end()) {
    throw StandaloneHtmlError("index.html lacks the line " + std::string(marker) + ": restore it (docs/report.md)");
  }
  *it = std::move(text);
}

// "<" as \u003c keeps the JSON valid and makes "</script>" impossible inside it.
std::string script_safe_json(const nlohmann::json& report) {
  std::string json = js_stringify(report);
  std::string out;
  out.reserve(json.size());
  for (char c : json) {
    if (c == '<') out += "\\u003c";
    else out += c;
  }
  return out;
}

std::string_view embedded(std::string_view name) {
  const UiAsset* asset = find_ui_asset(name);
  if (!asset) throw StandaloneHtmlError("the dashboard asset " + std::string(name) + " is not embedded: rebuild ramflowd");
  return asset->bytes;
}

}  // namespace

std::string standalone_html(std::string_view index_html, std::string_view style_css, std::string_view app_js,
                            const nlohmann::json& report) {
  if (contains_ignoring_case(style_css, "</style")) {
    throw StandaloneHtmlError("style.css contains \"</style\": it cannot be inlined");
  }
  if (contains_ignoring_case(app_js, "</script")) {
    throw StandaloneHtmlError("app.js contains \"</script\": it cannot be inlined");
  }
  std::vector<std::string> lines = split_lines(index_html);
  replace_marker(lines, kStyleMarker, "<style>\n" + std::string(style_css) + "</style>");
  replace_marker(lines, kReportMarker,
                 R"(<script type="application/json" id="ramflow-report">)" + script_safe_json(report) + "</script>");
  replace_marker(lines, kScriptMarker, "<script>\n" + std::string(app_js) + "</script>");
  std::string out;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (i) out += '\n';
    out += lines[i];
  }
  return out;
}

std::string standalone_html(const nlohmann::json& report) {
  return standalone_html(embedded("index.html"), embedded("style.css"), embedded("app.js"), report);
}

}  // namespace ramflow::exporter
