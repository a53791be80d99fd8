#include "analysis/forecast.h"

#include <algorithm>
#include <vector>

#include "analysis/stats.h"

namespace ramflow::analysis {

std::optional<TimeToOom> time_to_oom(double limit, double nonreclaimable, std::span<const BucketPoint> minima,
                                     const ForecastConfig& config) {
  if (minima.size() < std::max<size_t>(config.min_buckets, 2)) return std::nullopt;
  std::vector<double> x, y;
  for (const auto& p : minima) {
    x.push_back(p.start_s);
    y.push_back(p.bytes);
  }
  const auto fit = theil_sen(x, y);
  const auto mk = mann_kendall(y);
  if (!fit || fit->slope <= 0 || mk.probability < config.min_probability) return std::nullopt;
  return TimeToOom{std::max(0.0, limit - nonreclaimable) / fit->slope, fit->slope, mk.probability};
}

}  // namespace ramflow::analysis
