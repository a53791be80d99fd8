#include "analysis/stats.h"

#include <algorithm>
#include <cmath>

namespace ramflow::analysis {

double normal_cdf(double z) { return 0.5 * std::erfc(-z / std::sqrt(2.0)); }

MannKendall mann_kendall(std::span<const double> y) {
  MannKendall mk;
  const auto n = static_cast<double>(y.size());
  for (size_t i = 0; i < y.size(); ++i) {
    for (size_t j = i + 1; j < y.size(); ++j) {
      mk.s += (y[j] > y[i]) - (y[j] < y[i]);
    }
  }
  std::vector<double> sorted(y.begin(), y.end());
  std::sort(sorted.begin(), sorted.end());
  double tie_term = 0;
  for (size_t i = 0; i < sorted.size();) {
    size_t j = i;
    while (j < sorted.size() && sorted[j] == sorted[i]) ++j;
    const auto t = static_cast<double>(j - i);
    tie_term += t * (t - 1) * (2 * t + 5);
    i = j;
  }
  mk.variance = (n * (n - 1) * (2 * n + 5) - tie_term) / 18.0;
  if (mk.variance <= 0) return mk;  // n < 2 or all ties: p = 1
  const double sd = std::sqrt(mk.variance);
  if (mk.s > 0) mk.z = (mk.s - 1) / sd;
  if (mk.s < 0) mk.z = (mk.s + 1) / sd;
  mk.p_value = 1.0 - normal_cdf(mk.z);
  mk.probability = 1.0 - mk.p_value;
  return mk;
}

double median(std::vector<double> values) {
  if (values.empty()) return 0;
  const size_t mid = values.size() / 2;
  std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(mid), values.end());
  const double upper = values[mid];
  if (values.size() % 2 == 1) return upper;
  const double lower = *std::max_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(mid));
  return lower + (upper - lower) / 2;
}

std::optional<LinearFit> theil_sen(std::span<const double> x, std::span<const double> y) {
  const size_t n = std::min(x.size(), y.size());
  std::vector<double> slopes;
  slopes.reserve(n * (n - (n > 0)) / 2);
  for (size_t i = 0; i < n; ++i) {
    for (size_t j = i + 1; j < n; ++j) {
      if (x[j] != x[i]) slopes.push_back((y[j] - y[i]) / (x[j] - x[i]));
    }
  }
  if (slopes.empty()) return std::nullopt;
  LinearFit fit;
  fit.slope = median(std::move(slopes));
  std::vector<double> offsets(n);
  for (size_t i = 0; i < n; ++i) offsets[i] = y[i] - fit.slope * x[i];
  fit.intercept = median(std::move(offsets));
  return fit;
}

double mad_sigma(std::span<const double> values) {
  const double centre = median({values.begin(), values.end()});
  std::vector<double> deviations;
  deviations.reserve(values.size());
  for (double v : values) deviations.push_back(std::fabs(v - centre));
  return 1.4826 * median(std::move(deviations));
}

double percentile(std::span<const double> values, double q) {
  if (values.empty()) return 0;
  std::vector<double> sorted(values.begin(), values.end());
  std::sort(sorted.begin(), sorted.end());
  const double rank = std::ceil(std::clamp(q, 0.0, 1.0) * static_cast<double>(sorted.size()));
  const size_t index = rank < 1 ? 0 : static_cast<size_t>(rank) - 1;
  return sorted[std::min(index, sorted.size() - 1)];
}

}  // namespace ramflow::analysis
