// thresholds/thresholds.json is the one home of every threshold: the generated
// analysis/thresholds.h must carry its values, and every C++ default that is a
// threshold must be that value (a literal typed again anywhere fails here).
#include "thresholds/thresholds.h"

#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "analysis/allocation_speed.h"
#include "analysis/integrity.h"
#include "analysis/layers.h"
#include "analysis/leak_detector.h"
#include "analysis/margins.h"

namespace ramflow::analysis {
namespace {

// The value of entry `name` in the file itself (knobs are text, e.g. "0.10").
double file_value(const std::string& name) {
  static const nlohmann::json file = [] {
    std::ifstream in(RAMFLOW_THRESHOLDS_JSON);
    return nlohmann::json::parse(in);
  }();
  const auto& value = file.at("thresholds").at(name).at("value");
  return value.is_string() ? std::stod(value.get<std::string>()) : value.get<double>();
}

TEST(Thresholds, GeneratedHeaderCarriesTheFileValues) {
  EXPECT_DOUBLE_EQ(thresholds::kOomRiskNonreclaimableMargin, file_value("oomRiskNonreclaimableMargin"));
  EXPECT_DOUBLE_EQ(thresholds::kOomRiskWorkingSetMargin, file_value("oomRiskWorkingSetMargin"));
  EXPECT_DOUBLE_EQ(thresholds::kOomRiskPressure, file_value("oomRiskPressure"));
  EXPECT_DOUBLE_EQ(thresholds::kOomRiskPressureSome, file_value("oomRiskPressureSome"));
  EXPECT_DOUBLE_EQ(thresholds::kMarginTight, file_value("marginTight"));
  EXPECT_DOUBLE_EQ(thresholds::kNearLimit, file_value("nearLimit"));
  EXPECT_DOUBLE_EQ(thresholds::kRealityCheckShare, file_value("realityCheckShare"));
  EXPECT_DOUBLE_EQ(thresholds::kLeakMediumProbability, file_value("leakMediumProbability"));
  EXPECT_DOUBLE_EQ(thresholds::kLeakHighProbability, file_value("leakHighProbability"));
  EXPECT_DOUBLE_EQ(thresholds::kLeakMediumMiB, file_value("leakMediumMiB"));
  EXPECT_DOUBLE_EQ(thresholds::kLeakHighMiB, file_value("leakHighMiB"));
  EXPECT_DOUBLE_EQ(thresholds::kGreedyMiBPerSecond, file_value("greedyMiBPerSecond"));
  EXPECT_DOUBLE_EQ(thresholds::kTimeToOOMHorizon, file_value("timeToOOMHorizon"));
}

TEST(Thresholds, AnalysisDefaultsAreTheFileValues) {
  const OomRiskConfig risk;
  // ramflowd has one margin for both OOM-risk branches; the rules may set them apart.
  EXPECT_DOUBLE_EQ(risk.margin_threshold, file_value("oomRiskNonreclaimableMargin"));
  EXPECT_DOUBLE_EQ(risk.margin_threshold, file_value("oomRiskWorkingSetMargin"));
  EXPECT_DOUBLE_EQ(risk.pressure_full, file_value("oomRiskPressure"));
  EXPECT_DOUBLE_EQ(risk.pressure_some, file_value("oomRiskPressureSome"));
  const ResidualThresholds residual;
  EXPECT_DOUBLE_EQ(residual.medium_bytes, file_value("leakMediumMiB") * kMiB);
  EXPECT_DOUBLE_EQ(residual.high_bytes, file_value("leakHighMiB") * kMiB);
  EXPECT_DOUBLE_EQ(LeakConfig{}.high_threshold_bytes, file_value("leakHighMiB") * kMiB);
  EXPECT_DOUBLE_EQ(kGreedyBytesPerSecond, file_value("greedyMiBPerSecond") * kMiB);
  EXPECT_DOUBLE_EQ(kRealityCheckShare, file_value("realityCheckShare"));
}

TEST(Thresholds, OomRiskVerdictTurnsAtTheFileMargin) {
  const double margin = file_value("oomRiskNonreclaimableMargin");
  Margins below{.limit_bytes = 100, .nonreclaimable = margin - 0.001};
  below.safety = below.nonreclaimable;
  Margins at{.limit_bytes = 100, .nonreclaimable = margin};
  at.safety = at.nonreclaimable;
  EXPECT_TRUE(oom_risk(below, std::nullopt).at_risk);
  EXPECT_FALSE(oom_risk(at, std::nullopt).at_risk);
}

}  // namespace
}  // namespace ramflow::analysis
