#pragma once
// Robust trend statistics on short series (a leak window is at most ~100 points).
// Every function is pure and costs at most O(n^2) time and O(n^2) memory.

#include <optional>
#include <span>
#include <vector>

namespace ramflow::analysis {

// Mann–Kendall trend test, one-sided for an upward trend.
struct MannKendall {
  double s = 0;             // sum over i<j of sign(y[j] - y[i])
  double variance = 0;      // n(n-1)(2n+5)/18 minus the tie correction
  double z = 0;             // (S -/+ 1)/sqrt(var): continuity-corrected
  double p_value = 1;       // one-sided p for "y increases"; all ties -> 1
  double probability = 0;   // 1 - p_value: the "leak probability"
};

// The series order is the time order. Needs no minimum n; with n < 2 or all
// ties the result is "no evidence" (p = 1).
MannKendall mann_kendall(std::span<const double> y);

struct LinearFit {
  double slope = 0;      // median of the pairwise slopes
  double intercept = 0;  // median of y[i] - slope * x[i]
};

// Theil–Sen line. x and y must have the same size; pairs with equal x are
// skipped. std::nullopt when no pair has distinct x.
std::optional<LinearFit> theil_sen(std::span<const double> x, std::span<const double> y);

// Median (mean of the two middle values for an even count). Empty -> 0.
double median(std::vector<double> values);

// 1.4826 x median absolute deviation from the median: sigma for Gaussian data.
double mad_sigma(std::span<const double> values);

// Nearest-rank percentile: the smallest value with at least q of the values at
// or below it (rank ceil(q*n), 1-based; q <= 0 gives the minimum). Empty -> 0.
double percentile(std::span<const double> values, double q);

// Standard normal cumulative distribution.
double normal_cdf(double z);

}  // namespace ramflow::analysis
