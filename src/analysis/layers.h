#pragma once
// The three memory layers of a Python worker (DESIGN.md "bootstrap",
// "ecosystem bloat", "business logic", "prefork children") and the ratios the
// System-context tab shows. Sizes in bytes. An unknown bootstrap stays
// std::nullopt: it is never replaced by a made-up number.

#include <optional>

#include "thresholds/thresholds.h"

namespace ramflow::analysis {

// What is known about one process at and since its ready marker.
struct ProcessMemory {
  std::optional<double> bootstrap_bytes = std::nullopt;    // bare interpreter RSS; nullopt = unknown
  double ready_rss_bytes = 0;               // RSS at ready (main: worker_ready; child: worker_process_init)
  double ready_hwm_bytes = 0;               // VmHWM read at ready
  double vm_hwm_bytes = 0;                  // VmHWM now (the process footprint)
  double max_sampled_rss_since_ready = 0;   // highest RSS the sampler saw since ready
};

struct PeakSinceReady {
  double bytes = 0;
  bool sampled = false;  // true: the sampler's maximum, which can miss a spike
};

// VmHWM if it rose above its value at ready (then it is exact), else the
// highest sampled RSS since ready, marked sampled.
PeakSinceReady peak_since_ready(const ProcessMemory& process);

struct Layers {
  std::optional<double> bootstrap_bytes = std::nullopt;  // nullopt when unknown
  std::optional<double> ecosystem_bytes = std::nullopt;  // ready RSS - bootstrap; nullopt when bootstrap unknown
  double infrastructure_bytes = 0;        // bootstrap + ecosystem = RSS at ready (known even without bootstrap)
  double business_bytes = 0;              // peak since ready - RSS at ready, clamped at 0
  bool business_sampled = false;
  double peak_bytes = 0;                  // footprint the ratios use
  double expansion_factor = 0;            // peak / infrastructure (0 when infrastructure is 0)
  double infrastructure_share = 0;        // infrastructure / peak, in 0..1
  bool reality_check = false;             // infrastructure share >= 70 %: trim imports, not loops
};

inline constexpr double kRealityCheckShare = thresholds::kRealityCheckShare;

// One standalone (or main) process.
Layers process_layers(const ProcessMemory& process);

// A prefork child: bootstrap and ecosystem are the main's (it was forked after
// the main loaded everything); business is the child's own, from its ready RSS.
Layers child_layers(const ProcessMemory& main, const ProcessMemory& child);

// A worker group reports its layers once: the main's bootstrap and ecosystem,
// business = the group's peak (its footprint, margins.h) - (bootstrap + ecosystem).
Layers group_layers(const ProcessMemory& main, double group_peak_bytes, bool peak_sampled);

// Residual after a top-level task: RSS right after it ended - RSS at ready.
double residual_bytes(double rss_after_task, double ready_rss);

}  // namespace ramflow::analysis
