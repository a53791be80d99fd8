// The dashboard assets embedded in the binary at build time.
#include "export/ui/ui_assets.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

namespace ramflow::exporter {
namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(UiAssets, EmbedsEachFileOfSrcExportUiByteForByte) {
  for (const char* name : {"index.html", "app.js", "style.css"}) {
    const UiAsset* asset = find_ui_asset(name);
    ASSERT_NE(asset, nullptr) << name;
    EXPECT_EQ(asset->bytes, read_file(std::string(RAMFLOW_SOURCE_DIR "/src/export/ui/assets/") + name)) << name;
  }
}

TEST(UiAssets, ContentTypesCarryTheCharset) {
  EXPECT_EQ(find_ui_asset("index.html")->content_type, "text/html; charset=utf-8");
  EXPECT_EQ(find_ui_asset("app.js")->content_type, "text/javascript; charset=utf-8");
  EXPECT_EQ(find_ui_asset("style.css")->content_type, "text/css; charset=utf-8");
}

TEST(UiAssets, UnknownNameIsNull) {
  EXPECT_EQ(find_ui_asset("../secret"), nullptr);
  EXPECT_EQ(find_ui_asset(""), nullptr);
}

}  // namespace
}  // namespace ramflow::exporter
