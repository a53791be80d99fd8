#include "export/report/html_report.h"

#include <gtest/gtest.h>

#include "export/report/report_json.h"
#include "export/ui/ui_assets.h"
#include "node_runner.h"
#include "report_fixture.h"

namespace ramflow::exporter::testing {
namespace {

using nlohmann::json;

const std::string kIndex =
    "<html>\n  <link rel=\"stylesheet\" href=\"style.css\">\n<body>\n<!-- ramflow-report -->\n"
    "<script src=\"app.js\"></script>\n</body>\n</html>\n";

json sample() { return build_report(celery_snapshot(), test_options()); }

std::string embedded_json(const std::string& html) {
  const std::string open = R"(<script type="application/json" id="ramflow-report">)";
  auto from = html.find(open);
  if (from == std::string::npos) return "";
  from += open.size();
  return html.substr(from, html.find("</script>", from) - from);
}

TEST(StandaloneHtml, ReplacesTheThreeMarkerLines) {
  json report = {{"a", "x</script>y"}};
  std::string html = standalone_html(kIndex, "body{}\n", "run();\n", report);
  EXPECT_EQ(html,
            "<html>\n<style>\nbody{}\n</style>\n<body>\n"
            "<script type=\"application/json\" id=\"ramflow-report\">{\"a\":\"x\\u003c/script>y\"}</script>\n"
            "<script>\nrun();\n</script>\n</body>\n</html>\n");
}

TEST(StandaloneHtml, AMissingMarkerNamesTheLineToRestore) {
  std::string index = kIndex;
  index.erase(index.find("<!-- ramflow-report -->"), 23);
  try {
    standalone_html(index, "", "", json::object());
    FAIL() << "expected StandaloneHtmlError";
  } catch (const StandaloneHtmlError& e) {
    EXPECT_NE(std::string(e.what()).find("<!-- ramflow-report -->"), std::string::npos) << e.what();
  }
}

TEST(StandaloneHtml, RefusesAssetsThatWouldEndTheirElement) {
  EXPECT_THROW(standalone_html(kIndex, "a{} </STYLE>", "", json::object()), StandaloneHtmlError);
  EXPECT_THROW(standalone_html(kIndex, "", "x = '</Script>';", json::object()), StandaloneHtmlError);
}

TEST(StandaloneHtml, EmbedsTheReportAndNeedsNoNetwork) {
  json report = sample();
  std::string html = standalone_html(report);
  EXPECT_EQ(html.find("http://"), std::string::npos);
  EXPECT_EQ(html.find("https://"), std::string::npos);
  EXPECT_EQ(html.find("src=\"app.js\""), std::string::npos);
  EXPECT_EQ(html.find("href=\"style.css\""), std::string::npos);
  EXPECT_EQ(json::parse(embedded_json(html)), report);
}

// The C++ writer and tests/ui/build-standalone.mjs (what the browser test renders)
// give the same bytes for the same report; the mjs reads src/export/ui/assets from disk, so
// this also proves the embedded assets are the current files.
TEST(StandaloneHtml, IsByteIdenticalToTheJavaScriptReference) {
  if (!have_node()) GTEST_SKIP() << "node not installed: run scripts/install-deps.sh";
  auto dir = artifacts_dir();
  json report = sample();
  report["executive"]["worker"]["command"] = "python3 -c 'print(\"</script><b>\")'";
  write_file(dir / "report.json", report.dump(1));
  std::string cmd = "node " RAMFLOW_SOURCE_DIR "/tests/ui/build-standalone.mjs " + (dir / "report.json").string() + " " +
                    (dir / "report.mjs.html").string() + " >/dev/null";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  std::string mine = standalone_html(report);
  write_file(dir / "report.cpp.html", mine);
  EXPECT_TRUE(mine == read_file(dir / "report.mjs.html"))
      << "diff " << (dir / "report.cpp.html").string() << " " << (dir / "report.mjs.html").string();
}

}  // namespace
}  // namespace ramflow::exporter::testing
