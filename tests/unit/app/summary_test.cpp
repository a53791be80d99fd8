// The executive summary `ramflowd run` prints, from the UI's fixture report
// (tests/ui/fixtures/report.json: a leaking Celery worker).
#include "app/summary.h"

#include <gtest/gtest.h>

#include <fstream>

namespace ramflow::app {
namespace {

nlohmann::json fixture_report() {
  std::ifstream in(std::string(RAMFLOW_SOURCE_DIR) + "/tests/ui/fixtures/report.json");
  return nlohmann::json::parse(in);
}

bool says(const std::string& text, std::string_view part) { return text.find(part) != std::string::npos; }

TEST(Summary, StatesTheIntegrityVerdictInCapitals) {
  EXPECT_TRUE(says(executive_summary(fixture_report()), "Integrity   BLOATED"));
  EXPECT_TRUE(says(executive_summary(fixture_report()), "held by python_objects as measured by capture 4101-1777889600-2;"));
}

TEST(Summary, GivesTheRecommendedLimitAndRequestAsQuantitiesWithTheirReasons) {
  const auto r = fixture_report();
  const std::string text = executive_summary(r);
  const auto& rec = r["executive"]["recommendation"];
  EXPECT_TRUE(says(text, "Recommended limit  " + rec["limit_quantity"].get<std::string>() + "   " +
                             rec["limit_reason"].get<std::string>()))
      << text;
  EXPECT_TRUE(says(text, "Recommended request " + rec["request_quantity"].get<std::string>() + "  " +
                             rec["request_reason"].get<std::string>()))
      << text;
}

TEST(Summary, AHighLeakIsAnsweredWithRecyclingNotALimit) {
  const std::string text = executive_summary(fixture_report());
  EXPECT_TRUE(says(text, "no limit fixes a leak")) << text;
  EXPECT_TRUE(says(text, "Celery worker_max_tasks_per_child = 67")) << text;
}

TEST(Summary, ListsTheProcessesThatEndedAndHow) {
  const std::string text = executive_summary(fixture_report());
  EXPECT_TRUE(says(text, "pid 4103 (child) oom_killed during tasks.search")) << text;
}

TEST(Summary, ListsTheCulpritsInTheReportsOrder) {
  const std::string text = executive_summary(fixture_report());
  const auto first = text.find("1. cached_search");
  const auto second = text.find("2. tasks.search");
  ASSERT_NE(first, std::string::npos) << text;
  ASSERT_NE(second, std::string::npos) << text;
  EXPECT_LT(first, second);
}

TEST(Summary, ShowsAtMostFiveCulprits) {
  auto r = fixture_report();
  auto& rows = r["execution_flow"]["net_self"]["rows"];
  const auto row = rows[0];
  for (int i = 0; i < 10; ++i) rows.push_back(row);
  const std::string text = executive_summary(r);
  EXPECT_TRUE(says(text, "5. "));
  EXPECT_FALSE(says(text, "6. "));
}

TEST(Summary, AnUnknownFigureReadsUnknownNeverZero) {
  auto r = fixture_report();
  r["executive"]["layers"]["bootstrap_bytes"] = nullptr;
  r["executive"]["time_to_oom"]["seconds"] = nullptr;
  const std::string text = executive_summary(r);
  EXPECT_TRUE(says(text, "bootstrap unknown")) << text;
  EXPECT_TRUE(says(text, "Time to OOM        not growing")) << text;
}

TEST(Summary, NoTrackedCallsIsSaid) {
  auto r = fixture_report();
  r["execution_flow"]["net_self"]["rows"] = nlohmann::json::array();
  EXPECT_TRUE(says(executive_summary(r), "(no tracked calls)"));
}

}  // namespace
}  // namespace ramflow::app
