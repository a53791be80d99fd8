#include "app/report_options.h"

#include <gtest/gtest.h>

#include "analysis/units.h"

namespace ramflow::app {
namespace {

TEST(ReportOptionsFromConfig, CopiesTheThresholdsInForce) {
  config::Config c;
  c.leak_high_mib = 32;
  c.restart_horizon = std::chrono::hours(12);
  c.headroom = 0.3;
  const auto o = report_options(c);
  EXPECT_DOUBLE_EQ(o.thresholds.high_bytes, 32 * analysis::kMiB);
  EXPECT_DOUBLE_EQ(o.restart_horizon_seconds, 12 * 3600);
  EXPECT_DOUBLE_EQ(o.headroom, 0.3);
}

}  // namespace
}  // namespace ramflow::app
