#include "analysis/layers.h"

#include <gtest/gtest.h>

#include "analysis/units.h"

namespace ramflow::analysis {
namespace {

ProcessMemory worker() {
  ProcessMemory p;
  p.bootstrap_bytes = 10 * kMiB;
  p.ready_rss_bytes = 100 * kMiB;
  p.ready_hwm_bytes = 120 * kMiB;  // an import spiked before ready
  p.vm_hwm_bytes = 150 * kMiB;
  p.max_sampled_rss_since_ready = 140 * kMiB;
  return p;
}

TEST(PeakSinceReady, VmHwmAboveItsReadyValueIsExact) {
  const auto peak = peak_since_ready(worker());
  EXPECT_DOUBLE_EQ(peak.bytes, 150 * kMiB);
  EXPECT_FALSE(peak.sampled);
}

TEST(PeakSinceReady, OtherwiseTheSampledMaximumMarkedSampled) {
  auto p = worker();
  p.vm_hwm_bytes = 120 * kMiB;
  p.max_sampled_rss_since_ready = 110 * kMiB;
  const auto peak = peak_since_ready(p);
  EXPECT_DOUBLE_EQ(peak.bytes, 110 * kMiB);
  EXPECT_TRUE(peak.sampled);
}

TEST(ProcessLayers, ThreeLayersAndRatios) {
  const auto l = process_layers(worker());
  EXPECT_DOUBLE_EQ(*l.bootstrap_bytes, 10 * kMiB);
  EXPECT_DOUBLE_EQ(*l.ecosystem_bytes, 90 * kMiB);
  EXPECT_DOUBLE_EQ(l.infrastructure_bytes, 100 * kMiB);
  EXPECT_DOUBLE_EQ(l.business_bytes, 50 * kMiB);
  EXPECT_FALSE(l.business_sampled);
  EXPECT_DOUBLE_EQ(l.expansion_factor, 1.5);
  EXPECT_DOUBLE_EQ(l.infrastructure_share, 100.0 / 150.0);
  EXPECT_FALSE(l.reality_check);
}

TEST(ProcessLayers, RealityCheckAtSeventyPercentInfrastructure) {
  auto p = worker();
  p.vm_hwm_bytes = 120 * kMiB;
  p.max_sampled_rss_since_ready = 110 * kMiB;
  const auto l = process_layers(p);
  EXPECT_DOUBLE_EQ(l.business_bytes, 10 * kMiB);
  EXPECT_TRUE(l.business_sampled);
  EXPECT_DOUBLE_EQ(l.peak_bytes, 120 * kMiB);  // VmHWM: the footprint
  EXPECT_DOUBLE_EQ(l.infrastructure_share, 100.0 / 120.0);
  EXPECT_TRUE(l.reality_check);
}

TEST(ProcessLayers, UnknownBootstrapStaysUnknown) {
  auto p = worker();
  p.bootstrap_bytes.reset();
  const auto l = process_layers(p);
  EXPECT_FALSE(l.bootstrap_bytes);
  EXPECT_FALSE(l.ecosystem_bytes);
  EXPECT_DOUBLE_EQ(l.infrastructure_bytes, 100 * kMiB);
  EXPECT_DOUBLE_EQ(l.expansion_factor, 1.5);
}

TEST(GroupLayers, BusinessIsTheGroupPeakAboveTheMainsInfrastructure) {
  const auto l = group_layers(worker(), 400 * kMiB, /*peak_sampled=*/false);
  EXPECT_DOUBLE_EQ(*l.ecosystem_bytes, 90 * kMiB);
  EXPECT_DOUBLE_EQ(l.business_bytes, 300 * kMiB);
  EXPECT_FALSE(l.business_sampled);
  EXPECT_DOUBLE_EQ(l.expansion_factor, 4);
}

TEST(GroupLayers, ASampledPeakMarksBusinessSampled) {
  const auto l = group_layers(worker(), 250 * kMiB, /*peak_sampled=*/true);
  EXPECT_DOUBLE_EQ(l.business_bytes, 150 * kMiB);
  EXPECT_TRUE(l.business_sampled);
}

TEST(GroupLayers, APeakBelowTheInfrastructureLeavesNoBusiness) {
  const auto l = group_layers(worker(), 50 * kMiB, false);
  EXPECT_DOUBLE_EQ(l.business_bytes, 0);
  EXPECT_DOUBLE_EQ(l.peak_bytes, 100 * kMiB);
}

TEST(ChildLayers, InheritsTheMainsInfrastructureAndMeasuresItsOwnBusiness) {
  ProcessMemory child;
  child.ready_rss_bytes = 105 * kMiB;  // RSS at worker_process_init
  child.ready_hwm_bytes = 105 * kMiB;
  child.vm_hwm_bytes = 135 * kMiB;
  const auto l = child_layers(worker(), child);
  EXPECT_DOUBLE_EQ(*l.bootstrap_bytes, 10 * kMiB);
  EXPECT_DOUBLE_EQ(*l.ecosystem_bytes, 90 * kMiB);
  EXPECT_DOUBLE_EQ(l.business_bytes, 30 * kMiB);
  EXPECT_DOUBLE_EQ(l.peak_bytes, 130 * kMiB);
}

TEST(Residual, RssAfterTheTaskMinusRssAtReady) {
  EXPECT_DOUBLE_EQ(residual_bytes(103 * kMiB, 100 * kMiB), 3 * kMiB);
  EXPECT_DOUBLE_EQ(residual_bytes(99 * kMiB, 100 * kMiB), -1 * kMiB);
}

}  // namespace
}  // namespace ramflow::analysis
