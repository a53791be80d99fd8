#pragma once
// Per-bucket minimum (or maximum) of a sampled quantity, kept for the last N
// buckets. The minimum RSS per bucket is the leak-test series of a process
// without an agent; the minimum non-reclaimable memory per bucket feeds the
// time-to-OOM forecast; the maximum per bucket feeds the recommended request.
//
//   BucketSeries minima(60.0);                 // 60 s buckets, last 100 kept
//   if (auto closed = minima.add(t, rss)) detector.add(to_leak_sample(*closed));
//
// Memory O(capacity); a bucket with no sample is simply absent.

#include <cstddef>
#include <deque>
#include <optional>

#include "analysis/leak_detector.h"

namespace ramflow::analysis {

enum class BucketReduce { minimum, maximum };

struct BucketPoint {
  double start_s = 0;  // bucket start: floor(t / bucket) * bucket
  double bytes = 0;
};

struct BucketSeriesState {
  std::optional<BucketPoint> open = std::nullopt;  // the bucket still receiving samples
  std::deque<BucketPoint> closed;   // oldest first, at most `capacity`
};

class BucketSeries {
 public:
  // Throws std::invalid_argument when bucket_s <= 0 or capacity == 0.
  explicit BucketSeries(double bucket_s = 60.0, size_t capacity = 100,
                        BucketReduce reduce = BucketReduce::minimum, BucketSeriesState state = {});

  // Adds a sample; returns the bucket it closed, if it opened a new one. A
  // sample older than the open bucket (a clock step back) counts in the open one.
  // Throws std::invalid_argument on a non-finite time or value.
  std::optional<BucketPoint> add(double time_s, double bytes);

  const std::deque<BucketPoint>& closed() const { return state_.closed; }
  const BucketSeriesState& state() const { return state_; }
  double bucket_seconds() const { return bucket_s_; }
  size_t capacity() const { return capacity_; }
  BucketReduce reduce() const { return reduce_; }

 private:
  double bucket_s_;
  size_t capacity_;
  BucketReduce reduce_;
  BucketSeriesState state_;
};

// A closed bucket as a leak-test sample: x and time are the bucket start (s).
LeakSample to_leak_sample(const BucketPoint& point);

}  // namespace ramflow::analysis
