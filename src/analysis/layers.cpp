#include "analysis/layers.h"

#include <algorithm>

namespace ramflow::analysis {
namespace {

Layers with_ratios(Layers layers) {
  const double infra = layers.infrastructure_bytes;
  if (infra > 0) layers.expansion_factor = layers.peak_bytes / infra;
  if (layers.peak_bytes > 0) layers.infrastructure_share = std::min(1.0, infra / layers.peak_bytes);
  layers.reality_check = layers.infrastructure_share >= kRealityCheckShare;
  return layers;
}

Layers infrastructure_of(const ProcessMemory& main) {
  Layers layers;
  layers.bootstrap_bytes = main.bootstrap_bytes;
  if (main.bootstrap_bytes) layers.ecosystem_bytes = main.ready_rss_bytes - *main.bootstrap_bytes;
  layers.infrastructure_bytes = main.ready_rss_bytes;
  return layers;
}

}  // namespace

PeakSinceReady peak_since_ready(const ProcessMemory& p) {
  if (p.vm_hwm_bytes > p.ready_hwm_bytes) return {p.vm_hwm_bytes, false};
  return {std::max(p.max_sampled_rss_since_ready, p.ready_rss_bytes), true};
}

Layers process_layers(const ProcessMemory& process) {
  Layers layers = infrastructure_of(process);
  const auto peak = peak_since_ready(process);
  layers.business_bytes = std::max(0.0, peak.bytes - process.ready_rss_bytes);
  layers.business_sampled = peak.sampled;
  layers.peak_bytes = std::max(process.vm_hwm_bytes, peak.bytes);
  return with_ratios(layers);
}

Layers child_layers(const ProcessMemory& main, const ProcessMemory& child) {
  Layers layers = infrastructure_of(main);
  const auto peak = peak_since_ready(child);
  layers.business_bytes = std::max(0.0, peak.bytes - child.ready_rss_bytes);
  layers.business_sampled = peak.sampled;
  layers.peak_bytes = layers.infrastructure_bytes + layers.business_bytes;
  return with_ratios(layers);
}

Layers group_layers(const ProcessMemory& main, double peak, bool peak_sampled) {
  Layers layers = infrastructure_of(main);
  layers.business_bytes = std::max(0.0, peak - layers.infrastructure_bytes);
  layers.business_sampled = peak_sampled;
  layers.peak_bytes = std::max(peak, layers.infrastructure_bytes);
  return with_ratios(layers);
}

double residual_bytes(double rss_after_task, double ready_rss) { return rss_after_task - ready_rss; }

}  // namespace ramflow::analysis
