// A metric described as data, the way node_exporter's collectors declare their
// descriptors and cAdvisor's metrics/prometheus.go lists {name, help, type,
// labels, getter}: what a metric is, is written once, and an exposition is its
// table applied to a source. Every family of a table is served, with HELP and
// TYPE even while it has no sample. Pure; thread safety is the getters'.
//
//   const std::vector<MetricSpec<Counts>> table = {
//       {"x_events_total", MetricType::counter, "Events, by kind.", {"kind"},
//        [](const Counts& c, Samples& out) { for (const auto& [k, n] : c) out.push_back({{k}, double(n)}); }},
//   };
//   std::string text = render_table(table, counts);  // text format 0.0.4
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ramflow::exporter {

enum class MetricType { gauge, counter };
std::string_view to_string(MetricType type);  // "gauge", "counter": as the TYPE line says

struct Sample {
  std::vector<std::string> label_values;  // one per label of its spec, in the spec's order
  double value = 0;
};
using Samples = std::vector<Sample>;

// What every table row has, whatever it reads.
struct MetricDescription {
  std::string_view name;
  MetricType type = MetricType::gauge;
  std::string_view help;
  std::vector<std::string_view> labels;
};

template <class Source>
struct MetricSpec : MetricDescription {
  std::function<void(const Source&, Samples&)> getter;

  MetricSpec(std::string_view name, MetricType type, std::string_view help, std::vector<std::string_view> labels,
             std::function<void(const Source&, Samples&)> getter)
      : MetricDescription{name, type, help, std::move(labels)}, getter(std::move(getter)) {}
};

using Collected = std::vector<std::pair<const MetricDescription*, Samples>>;

// Text format 0.0.4, families in the order given. Throws std::logic_error when a
// sample has not one value per label (a bug of its getter).
std::string render_collected(const Collected& collected);

template <class Source>
std::string render_table(const std::vector<MetricSpec<Source>>& table, const Source& source) {
  Collected collected;
  collected.reserve(table.size());
  for (const auto& spec : table) {
    Samples samples;
    spec.getter(source, samples);
    collected.emplace_back(&spec, std::move(samples));
  }
  return render_collected(collected);
}

}  // namespace ramflow::exporter
