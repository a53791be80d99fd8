#include "export/prometheus/family_builder.h"

#include <algorithm>

namespace ramflow::exporter {

prometheus::MetricFamily& FamilyBuilder::family(const std::string& name, const std::string& help,
                                                prometheus::MetricType type) {
  auto it = std::find_if(families_.begin(), families_.end(), [&](const auto& f) { return f.name == name; });
  if (it != families_.end()) return *it;
  families_.push_back(prometheus::MetricFamily{name, help, type, {}});
  return families_.back();
}

void FamilyBuilder::declare(const std::string& name, const std::string& help, prometheus::MetricType type) {
  family(name, help, type);
}

void FamilyBuilder::add(const std::string& name, const std::string& help, prometheus::MetricType type,
                        const Labels& labels, double value) {
  prometheus::ClientMetric metric;
  for (const auto& [k, v] : labels) metric.label.push_back({k, v});
  if (type == prometheus::MetricType::Counter) metric.counter.value = value;
  else metric.gauge.value = value;
  family(name, help, type).metric.push_back(std::move(metric));
}

void FamilyBuilder::gauge(const std::string& name, const std::string& help, const Labels& labels, double value) {
  add(name, help, prometheus::MetricType::Gauge, labels, value);
}

void FamilyBuilder::counter(const std::string& name, const std::string& help, const Labels& labels,
                            double value) {
  add(name, help, prometheus::MetricType::Counter, labels, value);
}

std::vector<prometheus::MetricFamily> FamilyBuilder::take() { return std::move(families_); }

}  // namespace ramflow::exporter
