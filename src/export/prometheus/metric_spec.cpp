#include "export/prometheus/metric_spec.h"

#include <stdexcept>

#include <prometheus/metric_family.h>
#include <prometheus/text_serializer.h>

namespace ramflow::exporter {
namespace {

prometheus::MetricFamily family_of(const MetricDescription& d, const Samples& samples) {
  const bool counter = d.type == MetricType::counter;
  prometheus::MetricFamily family{std::string(d.name), std::string(d.help),
                                  counter ? prometheus::MetricType::Counter : prometheus::MetricType::Gauge, {}};
  family.metric.reserve(samples.size());
  for (const auto& sample : samples) {
    if (sample.label_values.size() != d.labels.size()) {
      throw std::logic_error(std::string(d.name) + ": a sample has " + std::to_string(sample.label_values.size()) +
                             " label values for " + std::to_string(d.labels.size()) + " labels");
    }
    prometheus::ClientMetric metric;
    for (std::size_t i = 0; i < d.labels.size(); ++i) {
      metric.label.push_back({std::string(d.labels[i]), sample.label_values[i]});
    }
    if (counter) metric.counter.value = sample.value;
    else metric.gauge.value = sample.value;
    family.metric.push_back(std::move(metric));
  }
  return family;
}

}  // namespace

std::string_view to_string(MetricType type) { return type == MetricType::counter ? "counter" : "gauge"; }

std::string render_collected(const Collected& collected) {
  std::vector<prometheus::MetricFamily> families;
  families.reserve(collected.size());
  for (const auto& [description, samples] : collected) families.push_back(family_of(*description, samples));
  return prometheus::TextSerializer().Serialize(families);
}

}  // namespace ramflow::exporter
