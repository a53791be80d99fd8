// A metric table rendered: families in table order, each with HELP and TYPE
// even without samples, labels in the spec's order, counters as counters.
#include "export/prometheus/metric_spec.h"

#include <gtest/gtest.h>

#include <map>
#include <stdexcept>
#include <string>

namespace ramflow::exporter {
namespace {

using Counts = std::map<std::string, double>;

const std::vector<MetricSpec<Counts>> kTable = {
    {"b_events_total", MetricType::counter, "Events, by kind.", {"kind", "where"},
     [](const Counts& c, Samples& out) {
       for (const auto& [k, n] : c) out.push_back({{k, "here"}, n});
     }},
    {"a_temperature_celsius", MetricType::gauge, "A gauge without samples.", {},
     [](const Counts&, Samples&) {}},
};

TEST(MetricSpec, FamiliesComeInTableOrderEachWithHelpAndType) {
  const std::string text = render_table(kTable, Counts{{"x", 2}});
  EXPECT_EQ(text,
            "# HELP b_events_total Events, by kind.\n"
            "# TYPE b_events_total counter\n"
            "b_events_total{kind=\"x\",where=\"here\"} 2\n"
            "# HELP a_temperature_celsius A gauge without samples.\n"
            "# TYPE a_temperature_celsius gauge\n");
}

TEST(MetricSpec, EverySampleOfAFamilyIsServed) {
  const std::string text = render_table(kTable, Counts{{"x", 1}, {"y", 0}});
  EXPECT_NE(text.find("b_events_total{kind=\"x\",where=\"here\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("b_events_total{kind=\"y\",where=\"here\"} 0\n"), std::string::npos);
}

TEST(MetricSpec, ASampleWithTheWrongNumberOfLabelValuesIsABug) {
  const std::vector<MetricSpec<Counts>> broken = {
      {"c_total", MetricType::counter, "Broken.", {"a", "b"},
       [](const Counts&, Samples& out) { out.push_back({{"only one"}, 1}); }},
  };
  EXPECT_THROW(render_table(broken, Counts{}), std::logic_error);
}

TEST(MetricSpec, TypesAreNamedAsTheTypeLineSaysThem) {
  EXPECT_EQ(to_string(MetricType::gauge), "gauge");
  EXPECT_EQ(to_string(MetricType::counter), "counter");
}

}  // namespace
}  // namespace ramflow::exporter
