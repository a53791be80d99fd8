#pragma once
// What to set (DESIGN.md "recommended limit", "recommended request", Celery's
// worker_max_memory_per_child), each with the one-line reason a person reads.
// Quantities are printed the Kubernetes way: "512Mi", "1536Mi", "2Gi".

#include <cstdint>
#include <optional>
#include <span>
#include <string>

namespace ramflow::analysis {

struct Recommendation {
  double bytes = 0;
  std::string reason;
};

struct LimitInputs {
  double pod_peak_bytes = 0;
  double headroom = 0.20;
  std::optional<double> leak_rate_bytes_per_s = std::nullopt;  // set only when the leak level is medium or high
  double restart_horizon_s = 24 * 3600.0;
  std::optional<double> oom_victim_bytes = std::nullopt;       // most memory an OOM victim held at death
};

// peak x (1 + headroom) + leak rate x restart horizon, never below the OOM
// victim's memory x (1 + headroom), rounded up to a whole Mi.
// Throws std::invalid_argument on a negative headroom, peak or horizon.
Recommendation recommend_limit(const LimitInputs& in);

// p90 (nearest rank) of the per-bucket peaks x 1.15, rounded up to a whole Mi.
Recommendation recommend_request(std::span<const double> bucket_peaks_bytes);

struct CeleryInputs {
  double limit_bytes = 0;            // the recommended (or current) container limit
  double main_rss_bytes = 0;         // the main (parent) process
  int concurrency = 1;               // prefork children
  double child_baseline_bytes = 0;   // a fresh child's RSS at worker_process_init
  std::optional<std::int64_t> configured_kib = std::nullopt;  // the value in force, if any
};

struct CeleryRecommendation {
  double bytes = 0;             // per-child budget, whole KiB
  std::int64_t kib = 0;         // the value for worker_max_memory_per_child
  std::string reason;
  bool trap = false;            // a fresh child would be recycled after every task
  std::string trap_reason;
};

// Budget per child so that concurrency x budget + main <= limit (children's
// RSS counts shared pages in each child, so the sum is an upper bound).
// The trap: a fresh child's baseline already at or over the budget (or over
// the configured value). Throws std::invalid_argument when concurrency < 1.
CeleryRecommendation recommend_celery_max_memory_per_child(const CeleryInputs& in);

double round_up_to_mib(double bytes);

// Exact binary quantity: "2Gi" when a whole number of Gi, else "1536Mi", else
// "KiB"/bytes; never a decimal, so the value pasted is the value computed.
std::string format_quantity(double bytes);

}  // namespace ramflow::analysis
