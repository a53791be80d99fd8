#pragma once
// Allocation speed (the seed's "efficiency ratio"): positive RSS growth per
// second, per process over a sliding window, per function over its call.
//
//   AllocationSpeed speed;          // 30 s window
//   speed.add(t, rss);
//   if (is_greedy(speed.bytes_per_second())) ...
//
// Memory bounded by max_samples; not thread-safe.

#include <cstddef>
#include <deque>

#include "thresholds/thresholds.h"
#include "analysis/units.h"

namespace ramflow::analysis {

inline constexpr double kGreedyBytesPerSecond = thresholds::kGreedyMiBPerSecond * kMiB;

struct RssSample {
  double time_s = 0;
  double rss_bytes = 0;
};

class AllocationSpeed {
 public:
  // Throws std::invalid_argument when window_s <= 0 or max_samples < 2.
  explicit AllocationSpeed(double window_s = 30.0, size_t max_samples = 1024);

  // Throws std::invalid_argument on a non-finite time or value.
  void add(double time_s, double rss_bytes);

  // Sum of the rises between consecutive samples in the window / the time
  // they span; falls are ignored (freeing is not negative allocation). 0 with
  // fewer than two samples.
  double bytes_per_second() const;

 private:
  double window_s_;
  size_t max_samples_;
  std::deque<RssSample> samples_;
};

// Per function: gross RSS growth during the call / its duration (0 when either is not positive).
double call_allocation_speed(double gross_growth_bytes, double duration_s);

bool is_greedy(double bytes_per_second, double threshold = kGreedyBytesPerSecond);

}  // namespace ramflow::analysis
