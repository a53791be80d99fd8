#include "export/ui/ui_assets.h"

#include <vector>

#include "export/ui/ui_assets_data.h"

namespace ramflow::exporter {
namespace {

std::string_view content_type_of(std::string_view name) {
  auto ends_with = [&](std::string_view suffix) { return name.ends_with(suffix); };
  if (ends_with(".html")) return "text/html; charset=utf-8";
  if (ends_with(".js")) return "text/javascript; charset=utf-8";
  if (ends_with(".css")) return "text/css; charset=utf-8";
  return "application/octet-stream";
}

}  // namespace

const UiAsset* find_ui_asset(std::string_view name) {
  static const auto assets = [] {
    std::vector<UiAsset> all;
    for (const auto& file : detail::embedded_ui_files()) all.push_back({file.name, content_type_of(file.name), file.bytes});
    return all;
  }();
  for (const auto& a : assets) {
    if (a.name == name) return &a;
  }
  return nullptr;
}

}  // namespace ramflow::exporter
