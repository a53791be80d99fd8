#pragma once
// Time to OOM for a worker group (DESIGN.md "time to OOM"): the room left under
// the limit divided by the growth rate of non-reclaimable memory. The rate is a
// Theil–Sen slope over per-bucket minima, kept at several scales (1 s, 10 s,
// 60 s, 600 s buckets) so that a fast leak is seen within seconds and a slow
// one over hours. Absent when not growing. docs/analysis.md "Time to OOM".
//
//   NonReclaimableHistory history;            // one per cgroup / worker group
//   history.add(now, nonreclaimable_bytes);   // every sample
//   auto t = time_to_oom(limit, nonreclaimable_bytes, history);
//
// Memory O(scales x kBucketsPerScale); time_to_oom costs O(scales x window²).

#include <array>
#include <cstddef>
#include <optional>
#include <vector>

#include "analysis/bucket_series.h"

namespace ramflow::analysis {

class NonReclaimableHistory {
 public:
  static constexpr std::array<double, 4> kScalesSeconds = {1, 10, 60, 600};
  static constexpr std::size_t kBucketsPerScale = 48;

  // `state`: one entry per scale, as state() returned it (empty: a new history).
  // Throws std::invalid_argument when a restored state has another number of scales.
  explicit NonReclaimableHistory(std::vector<BucketSeriesState> state = {});

  // Adds a sample to every scale; true when a bucket closed (the forecast may change).
  bool add(double time_s, double bytes);
  const std::vector<BucketSeries>& scales() const { return scales_; }
  std::vector<BucketSeriesState> state() const;

 private:
  std::vector<BucketSeries> scales_;
};

struct ForecastConfig {
  std::size_t min_buckets = 8;        // the shortest window tested
  double min_probability = 0.999;     // Mann–Kendall 1 - p over the window
  double min_rise_noise_ratio = 4;    // growth over the window >= this x the series' noise
};

struct TimeToOom {
  double seconds = 0;             // 0 when already at or over the limit
  double growth_bytes_per_s = 0;  // Theil–Sen slope of the minima
  double probability = 0;         // Mann–Kendall 1 - p of the window used
  double window_seconds = 0;      // span of the minima the slope was taken over
};

// Windows of 8, 16, 32 and 48 of the most recent closed buckets of each scale
// are tested: growing = positive slope, Mann–Kendall probability >=
// min_probability, a rise over the window of at least min_rise_noise_ratio x
// the series' own noise (robust sigma of its bucket-to-bucket steps), a
// positive slope over its recent half, and not bent (an older half clearly
// flatter than the recent one: growth that started inside the window). A
// growing window is vetoed when a more recent, finer window in which that rate
// would stand out clearly sees memory flat (the growth stopped). Of the
// windows left, the forecast takes the one whose slope is the most precise
// (smallest standard error relative to the slope).
std::optional<TimeToOom> time_to_oom(double limit_bytes, double nonreclaimable_bytes,
                                     const NonReclaimableHistory& history, const ForecastConfig& config = {});

}  // namespace ramflow::analysis
