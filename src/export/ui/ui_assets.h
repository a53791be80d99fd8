// The dashboard files of src/export/ui/assets/, embedded in the binary at build time
// (cmake/embed_ui_assets.cmake), so ramflowd serves them and writes the
// standalone report without any file beside it.
#pragma once

#include <string_view>

namespace ramflow::exporter {

struct UiAsset {
  std::string_view name;          // "index.html", "app.js", "style.css"
  std::string_view content_type;  // with charset, ready for a Content-Type header
  std::string_view bytes;
};

// The asset called `name`, or nullptr when there is none.
const UiAsset* find_ui_asset(std::string_view name);

}  // namespace ramflow::exporter
