// Small helper to assemble prometheus::MetricFamily values from a snapshot:
// families appear in the order first declared; samples keep their labels.
#pragma once

#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

#include <prometheus/metric_family.h>

namespace ramflow::exporter {

using Labels = std::vector<std::pair<std::string, std::string>>;

class FamilyBuilder {
 public:
  // Returns the family, creating it on first use.
  prometheus::MetricFamily& family(const std::string& name, const std::string& help, prometheus::MetricType type);
  void gauge(const std::string& name, const std::string& help, const Labels& labels, double value);
  void counter(const std::string& name, const std::string& help, const Labels& labels, double value);
  // Declares a family even when it has no samples (so HELP/TYPE stay visible).
  void declare(const std::string& name, const std::string& help, prometheus::MetricType type);
  std::vector<prometheus::MetricFamily> take();

 private:
  void add(const std::string& name, const std::string& help, prometheus::MetricType type, const Labels& labels,
           double value);
  std::vector<prometheus::MetricFamily> families_;
};

}  // namespace ramflow::exporter
