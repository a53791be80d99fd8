// The Prometheus exposition of a Snapshot. Every metric name of the DESIGN.md
// contract is written in metrics.cpp and nowhere else.
#pragma once

#include <string>

#include "model/snapshot.h"

namespace ramflow::exporter {

struct BuildInfo {
  std::string version;
  bool ebpf_built = false;
};

// Text format 0.0.4, via prometheus::TextSerializer. Pure: depends only on its inputs.
std::string render_metrics(const model::Snapshot& snapshot, const BuildInfo& build);

}  // namespace ramflow::exporter
