// Per-bucket minimum and maximum of a sampled value (bucket length fixed at
// construction), keeping the last N buckets. Minima strip transient spikes for
// the leak and time-to-OOM trends; maxima feed the request recommendation.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "model/ring_buffer.h"

namespace ramflow::model {

struct Bucket {
  double start = 0;  // unix seconds, a multiple of the bucket length
  double min = 0;
  double max = 0;
};

class BucketSeries {
 public:
  BucketSeries(double bucket_seconds, std::size_t keep) : length_(bucket_seconds), closed_(keep) {}

  void add(double time, double value) {
    double start = static_cast<double>(static_cast<std::int64_t>(time / length_)) * length_;
    if (open_ && start > current_.start) {
      closed_.push(current_);
      open_ = false;
    }
    if (!open_) {
      current_ = Bucket{start, value, value};
      open_ = true;
      return;
    }
    if (start < current_.start) return;  // clock went back: ignore the sample
    current_.min = std::min(current_.min, value);
    current_.max = std::max(current_.max, value);
  }

  // Closed buckets only, oldest first: an open bucket's minimum is not final.
  const RingBuffer<Bucket>& closed() const { return closed_; }
  double bucket_seconds() const { return length_; }
  void restore(const std::vector<Bucket>& buckets) {
    for (const auto& b : buckets) closed_.push(b);
  }

 private:
  double length_;
  RingBuffer<Bucket> closed_;
  Bucket current_;
  bool open_ = false;
};

}  // namespace ramflow::model
