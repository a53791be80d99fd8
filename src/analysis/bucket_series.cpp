#include "analysis/bucket_series.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace ramflow::analysis {

BucketSeries::BucketSeries(double bucket_s, size_t capacity, BucketReduce reduce, BucketSeriesState state)
    : bucket_s_(bucket_s), capacity_(capacity), reduce_(reduce), state_(std::move(state)) {
  if (!(bucket_s_ > 0) || !std::isfinite(bucket_s_)) {
    throw std::invalid_argument("bucket length must be a positive number of seconds, got " +
                                std::to_string(bucket_s_) + " — set it to e.g. 60");
  }
  if (capacity_ == 0) throw std::invalid_argument("bucket series capacity must be at least 1");
  while (state_.closed.size() > capacity_) state_.closed.pop_front();
}

std::optional<BucketPoint> BucketSeries::add(double time_s, double bytes) {
  if (!std::isfinite(time_s) || !std::isfinite(bytes)) throw std::invalid_argument("bucket sample must be finite (time, bytes)");
  const double start = std::floor(time_s / bucket_s_) * bucket_s_;
  auto& open = state_.open;
  if (open && start <= open->start_s) {
    open->bytes = reduce_ == BucketReduce::minimum ? std::min(open->bytes, bytes) : std::max(open->bytes, bytes);
    return std::nullopt;
  }
  std::optional<BucketPoint> finished = open;
  if (finished) {
    state_.closed.push_back(*finished);
    if (state_.closed.size() > capacity_) state_.closed.pop_front();
  }
  open = BucketPoint{start, bytes};
  return finished;
}

LeakSample to_leak_sample(const BucketPoint& point) { return {point.start_s, point.start_s, point.bytes}; }

}  // namespace ramflow::analysis
