// Internal: the bytes of src/export/ui/assets/*, defined in the .cpp that
// cmake/embed_ui_assets.cmake generates in the build directory.
#pragma once

#include <span>
#include <string_view>

namespace ramflow::exporter::detail {

struct EmbeddedFile {
  std::string_view name;
  std::string_view bytes;
};

std::span<const EmbeddedFile> embedded_ui_files();

}  // namespace ramflow::exporter::detail
