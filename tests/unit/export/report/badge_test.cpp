#include "export/report/badge.h"

#include <gtest/gtest.h>

namespace ramflow::exporter::testing {
namespace {

TEST(IntegrityBadge, SaysTheStatusInItsColour) {
  std::string svg = integrity_badge_svg("bloated");
  EXPECT_EQ(svg.rfind("<svg xmlns=\"http://www.w3.org/2000/svg\"", 0), 0u);
  EXPECT_NE(svg.find(">BLOATED</text>"), std::string::npos);
  EXPECT_NE(svg.find(">ramflow</text>"), std::string::npos);
  EXPECT_NE(svg.find("#e05d44"), std::string::npos);
  EXPECT_NE(integrity_badge_svg("secure").find("#4c1"), std::string::npos);
  EXPECT_NE(integrity_badge_svg("stable").find("#dfb317"), std::string::npos);
  EXPECT_NE(integrity_badge_svg("unknown").find(">UNKNOWN</text>"), std::string::npos);
}

TEST(IntegrityBadge, IsPlainSvgWithoutScriptsOrLinks) {
  std::string svg = integrity_badge_svg("secure");
  EXPECT_EQ(svg.find("<script"), std::string::npos);
  EXPECT_EQ(svg.find("href"), std::string::npos);
  EXPECT_EQ(svg.back(), '\n');
}

TEST(IntegrityBadge, WiderWordGivesAWiderBadge) {
  auto width = [](const std::string& svg) { return std::stoi(svg.substr(svg.find("width=\"") + 7)); };
  EXPECT_GT(width(integrity_badge_svg("bloated")), width(integrity_badge_svg("stable")));
}

TEST(IntegrityBadge, UnknownStatusIsRefused) {
  EXPECT_THROW(integrity_badge_svg("SECURE"), std::invalid_argument);
  EXPECT_THROW(integrity_badge_svg("<b>"), std::invalid_argument);
}

TEST(IntegrityBadge, ReadsTheStatusOfAReport) {
  nlohmann::json report = {{"executive", {{"integrity", {{"status", "stable"}}}}}};
  EXPECT_NE(report_badge_svg(report).find(">STABLE</text>"), std::string::npos);
  EXPECT_THROW(report_badge_svg(nlohmann::json::object()), std::invalid_argument);
}

}  // namespace
}  // namespace ramflow::exporter::testing
