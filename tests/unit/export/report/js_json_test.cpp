#include "export/report/js_json.h"

#include <cmath>
#include <limits>

#include <gtest/gtest.h>

#include "node_runner.h"

namespace ramflow::exporter::testing {
namespace {

using nlohmann::json;

TEST(JsNumber, FollowsEcmaScriptNumberToString) {
  EXPECT_EQ(js_number(1777889700.0), "1777889700");
  EXPECT_EQ(js_number(0.1), "0.1");
  EXPECT_EQ(js_number(-2.5), "-2.5");
  EXPECT_EQ(js_number(-0.0), "0");
  EXPECT_EQ(js_number(1e21), "1e+21");
  EXPECT_EQ(js_number(1e20), "100000000000000000000");
  EXPECT_EQ(js_number(1e-7), "1e-7");
  EXPECT_EQ(js_number(0.000001), "0.000001");
  EXPECT_EQ(js_number(1.5e-10), "1.5e-10");
  EXPECT_EQ(js_number(4.204081632653061), "4.204081632653061");
  EXPECT_EQ(js_number(std::numeric_limits<double>::quiet_NaN()), "null");
  EXPECT_EQ(js_number(INFINITY), "null");
}

TEST(JsStringify, KeepsKeyOrderAndWritesCompactly) {
  json j = json::parse(R"({"b":[1,2.0,{"c":null}],"a":"x"})");
  EXPECT_EQ(js_stringify(j), R"({"a":"x","b":[1,2,{"c":null}]})");
  nlohmann::ordered_json o = nlohmann::ordered_json::parse(R"({"b":1,"a":2})");
  EXPECT_EQ(js_stringify(json::parse(o.dump())), R"({"a":2,"b":1})");
}

// The same text as node's JSON.stringify(JSON.parse(text)), for awkward numbers and strings.
TEST(JsStringify, MatchesNodeByteForByte) {
  if (!have_node()) GTEST_SKIP() << "node not installed: run scripts/install-deps.sh";
  json j = {{"numbers", {0.1, 1e21, 1e-7, 123456789012345680000.0, 5e-324, 1.7976931348623157e308, 100.0, 0.000001,
                         -1.5e-10, 2.5e-6, 1e16, 123.456, 1777889700.5, 0.21484375, -0.0, 9007199254740993.0}},
            {"ints", {0, -1, 4294967296LL, 9007199254740991LL}},
            {"strings", {"</script>", "tab\there", "nl\nx", "ctl\x01\x1f\x7f", "quote\"back\\slash", "caf\xc3\xa9 \xe2\x80\xa8 \xf0\x9f\x90\x8d",
                         "/slash"}},
            {"bools", {true, false, nullptr}}};
  auto dir = artifacts_dir();
  write_file(dir / "awkward.json", j.dump());
  std::string cmd = "node -e \"const fs=require('fs');process.stdout.write(JSON.stringify(JSON.parse(fs.readFileSync('" +
                    (dir / "awkward.json").string() + "','utf8'))))\" > " + (dir / "awkward.node.json").string();
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  EXPECT_EQ(js_stringify(j), read_file(dir / "awkward.node.json"));
}

}  // namespace
}  // namespace ramflow::exporter::testing
