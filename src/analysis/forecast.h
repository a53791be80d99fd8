#pragma once
// Time to OOM for the pod (DESIGN.md "time to OOM"): the room left under the
// limit divided by the growth rate of non-reclaimable memory, that rate a
// Theil–Sen slope over per-bucket minima (BucketSeries). Absent when not growing.

#include <cstddef>
#include <optional>
#include <span>

#include "analysis/bucket_series.h"

namespace ramflow::analysis {

// "Growing" = at least min_buckets buckets, a positive Theil–Sen slope and a
// Mann–Kendall probability of at least min_probability.
struct ForecastConfig {
  size_t min_buckets = 5;
  double min_probability = 0.95;
};

struct TimeToOom {
  double seconds = 0;             // 0 when already at or over the limit
  double growth_bytes_per_s = 0;  // Theil–Sen slope of the minima
  double probability = 0;         // Mann–Kendall 1 - p of the minima
};

std::optional<TimeToOom> time_to_oom(double limit_bytes, double nonreclaimable_bytes,
                                     std::span<const BucketPoint> nonreclaimable_minima,
                                     const ForecastConfig& config = {});

}  // namespace ramflow::analysis
