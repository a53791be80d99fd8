// The Prometheus exposition of a Snapshot: metric_table() applied to it.
#pragma once

#include <string>

#include "export/prometheus/metric_table.h"
#include "model/snapshot.h"

namespace ramflow::exporter {

// Text format 0.0.4. Pure: depends only on its inputs.
std::string render_metrics(const model::Snapshot& snapshot, const BuildInfo& build);

}  // namespace ramflow::exporter
