#pragma once
// What to set (DESIGN.md "recommended limit", "recommended request", Celery's
// worker_max_memory_per_child and worker_max_tasks_per_child), each with the
// one-line reason a person reads. Quantities are printed the Kubernetes way:
// "512Mi", "1536Mi", "2Gi". Nothing is capped silently: every bound that acts
// is named in the reason. docs/analysis.md "Recommendations".

#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "analysis/leak_detector.h"
#include "thresholds/thresholds.h"

namespace ramflow::analysis {

struct Recommendation {
  double bytes = 0;
  std::string reason;
};

// The evidence of a leak in the group: its level (medium or high), the summed
// growth rate of the leaking members and how long their series were observed.
struct LeakEvidence {
  LeakLevel level = LeakLevel::medium;
  double rate_bytes_per_s = 0;
  double observed_span_s = 0;
};

struct LimitInputs {
  double peak_bytes = 0;  // the group's footprint
  double headroom = thresholds::kHeadroom;
  std::optional<LeakEvidence> leak = std::nullopt;
  double restart_horizon_s = 24 * 3600.0;
  std::optional<double> oom_victim_bytes = std::nullopt;  // most memory an OOM victim held at death
  std::optional<double> node_memory_bytes = std::nullopt;  // MemTotal: a limit above it is flagged
};

struct LimitRecommendation {
  double bytes = 0;
  std::string reason;
  double leak_allowance_bytes = 0;
  // A high leak: a bigger limit only delays the kill; recycling fixes it.
  bool recycle_instead = false;
  bool above_node_memory = false;
};

// peak x (1 + headroom), rounded up to a whole Mi, and:
// - a medium leak adds rate x min(restart horizon, the span observed): the
//   allowance never extrapolates beyond the evidence;
// - a high leak adds nothing and sets recycle_instead;
// - never below an OOM victim's memory x (1 + headroom).
// Throws std::invalid_argument on a negative headroom, peak or horizon.
LimitRecommendation recommend_limit(const LimitInputs& in);

// The kRequestQuantile (nearest rank) of the per-bucket peaks x kRequestFactor,
// rounded up to a whole Mi, and never above `limit_bytes` (the reason says so
// when the limit bounds it). The peaks are the same population as the limit's.
Recommendation recommend_request(std::span<const double> bucket_peaks_bytes, double limit_bytes);

struct CeleryInputs {
  double limit_bytes = 0;            // the recommended (or current) container limit
  double main_rss_bytes = 0;         // the main (parent) process
  int concurrency = 1;               // prefork children
  double child_baseline_bytes = 0;   // a fresh child's RSS at worker_process_init
  std::optional<std::int64_t> configured_kib = std::nullopt;  // the value in force, if any
  // Per-task growth of the fastest-leaking child (bytes per task), when a leak is medium or high.
  std::optional<double> child_growth_bytes_per_task = std::nullopt;
};

struct CeleryRecommendation {
  double bytes = 0;             // per-child budget, whole KiB
  std::int64_t kib = 0;         // the value for worker_max_memory_per_child
  std::string reason;
  bool trap = false;            // a fresh child would be recycled after every task
  std::string trap_reason;
  // worker_max_tasks_per_child: a leaking child is recycled before it grows past its budget.
  std::optional<std::int64_t> max_tasks_per_child;
  std::string max_tasks_reason;
};

// Budget per child so that concurrency x budget + main <= limit (children's
// RSS counts shared pages in each child, so the sum is an upper bound).
// The trap: a fresh child's baseline already at or over the budget (or over
// the configured value). With a leak: max tasks per child =
// floor((budget - baseline) / growth per task), at least 1.
// Throws std::invalid_argument when concurrency < 1.
CeleryRecommendation recommend_celery(const CeleryInputs& in);

double round_up_to_mib(double bytes);

// Exact binary quantity: "2Gi" when a whole number of Gi, else "1536Mi", else
// "KiB"/bytes; never a decimal, so the value pasted is the value computed.
std::string format_quantity(double bytes);

}  // namespace ramflow::analysis
