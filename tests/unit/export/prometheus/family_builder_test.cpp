// FamilyBuilder: families in the order first declared, each sample with its labels.
#include "export/prometheus/family_builder.h"

#include <gtest/gtest.h>

namespace ramflow::exporter {
namespace {

using prometheus::MetricType;

TEST(FamilyBuilder, FamiliesComeInTheOrderFirstUsed) {
  FamilyBuilder b;
  b.gauge("b_bytes", "B.", {}, 1);
  b.counter("a_total", "A.", {}, 2);
  b.gauge("b_bytes", "B.", {{"k", "v"}}, 3);
  const auto families = b.take();
  ASSERT_EQ(families.size(), 2u);
  EXPECT_EQ(families[0].name, "b_bytes");
  EXPECT_EQ(families[1].name, "a_total");
}

TEST(FamilyBuilder, SamplesOfOneNameShareOneFamily) {
  FamilyBuilder b;
  b.gauge("ramflow_memory_pressure_ratio", "PSI.", {{"kind", "some"}}, 0.1);
  b.gauge("ramflow_memory_pressure_ratio", "", {{"kind", "full"}}, 0.05);
  const auto families = b.take();
  ASSERT_EQ(families.size(), 1u);
  ASSERT_EQ(families[0].metric.size(), 2u);
  EXPECT_EQ(families[0].help, "PSI.");  // the first declaration's help stays
}

TEST(FamilyBuilder, ASampleKeepsItsLabelsInOrderAndItsValue) {
  FamilyBuilder b;
  b.counter("ramflow_function_calls_total", "Calls.", {{"function", "load"}, {"kind", "task"}}, 7);
  const auto families = b.take();
  const auto& m = families.at(0).metric.at(0);
  ASSERT_EQ(m.label.size(), 2u);
  EXPECT_EQ(m.label[0].name, "function");
  EXPECT_EQ(m.label[0].value, "load");
  EXPECT_EQ(m.label[1].name, "kind");
  EXPECT_EQ(m.counter.value, 7);
  EXPECT_EQ(families[0].type, MetricType::Counter);
}

TEST(FamilyBuilder, GaugesCarryTheirValueAsAGauge) {
  FamilyBuilder b;
  b.gauge("ramflow_safety_margin_ratio", "Margin.", {}, 0.42);
  const auto families = b.take();
  EXPECT_EQ(families[0].type, MetricType::Gauge);
  EXPECT_EQ(families[0].metric.at(0).gauge.value, 0.42);
}

TEST(FamilyBuilder, ADeclaredFamilyExistsWithoutSamples) {
  FamilyBuilder b;
  b.declare("ramflow_oom_kills_total", "OOM kills.", MetricType::Counter);
  const auto families = b.take();
  ASSERT_EQ(families.size(), 1u);
  EXPECT_TRUE(families[0].metric.empty());
  EXPECT_EQ(families[0].help, "OOM kills.");
}

}  // namespace
}  // namespace ramflow::exporter
