#include "analysis/allocation_speed.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace ramflow::analysis {

AllocationSpeed::AllocationSpeed(double window_s, size_t max_samples) : window_s_(window_s), max_samples_(max_samples) {
  if (!(window_s_ > 0)) throw std::invalid_argument("allocation-speed window must be a positive number of seconds, e.g. 30");
  if (max_samples_ < 2) throw std::invalid_argument("allocation-speed window needs room for at least 2 samples");
}

void AllocationSpeed::add(double time_s, double rss_bytes) {
  if (!std::isfinite(time_s) || !std::isfinite(rss_bytes)) throw std::invalid_argument("RSS sample must be finite (time, bytes)");
  samples_.push_back({time_s, rss_bytes});
  while (samples_.size() > max_samples_ || samples_.front().time_s < time_s - window_s_) samples_.pop_front();
}

double AllocationSpeed::bytes_per_second() const {
  if (samples_.size() < 2) return 0;
  const double elapsed = samples_.back().time_s - samples_.front().time_s;
  if (elapsed <= 0) return 0;
  double rises = 0;
  for (size_t i = 1; i < samples_.size(); ++i) rises += std::max(0.0, samples_[i].rss_bytes - samples_[i - 1].rss_bytes);
  return rises / elapsed;
}

double call_allocation_speed(double gross_growth, double duration_s) {
  if (gross_growth <= 0 || duration_s <= 0) return 0;
  return gross_growth / duration_s;
}

bool is_greedy(double bytes_per_second, double threshold) { return bytes_per_second >= threshold; }

}  // namespace ramflow::analysis
