// Every metric ramflowd serves at /metrics (DESIGN.md "Metric contract"),
// described once, as a table, in metric_table.cpp: /metrics is the table
// applied to the published snapshot, and docs/metrics.md and the golden files
// are checked against it (tests/unit/export/prometheus/metrics_doc_test.cpp).
// Per-process series are keyed by `worker` (model::ProcessView::worker); the
// pid appears only in ramflow_process_info.
#pragma once

#include <string>
#include <vector>

#include "export/prometheus/metric_spec.h"
#include "model/snapshot.h"

namespace ramflow::exporter {

struct BuildInfo {
  std::string version;
  bool ebpf_built = false;
};

struct MetricSource {
  const model::Snapshot& snapshot;
  const BuildInfo& build;
};

// In the order /metrics serves them.
const std::vector<MetricSpec<MetricSource>>& metric_table();

}  // namespace ramflow::exporter
