#include "export/prometheus/metrics.h"

namespace ramflow::exporter {

std::string render_metrics(const model::Snapshot& snapshot, const BuildInfo& build) {
  return render_table(metric_table(), MetricSource{snapshot, build});
}

}  // namespace ramflow::exporter
