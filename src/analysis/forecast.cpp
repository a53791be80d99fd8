#include "analysis/forecast.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "analysis/stats.h"

namespace ramflow::analysis {
namespace {

constexpr std::array<std::size_t, 4> kWindows = {8, 16, 32, 48};
// A rate "stands out clearly" in a window when it would rise this many noise sigmas over it.
constexpr double kEvidentNoiseRatio = 8;

struct Window {
  std::size_t scale = 0;
  std::vector<double> x, y;
  double span_s = 0;
};

struct Trend {
  double slope = 0;
  double probability = 0;
};

Trend trend(const std::vector<double>& x, const std::vector<double>& y) {
  auto fit = theil_sen(x, y);
  return {fit ? fit->slope : 0, mann_kendall(y).probability};
}

// Robust sigma of a level series from its bucket-to-bucket steps (a steady
// slope shifts the steps, not their spread).
double noise_of(const std::deque<BucketPoint>& points) {
  if (points.size() < 3) return 0;
  std::vector<double> steps;
  for (std::size_t i = 1; i < points.size(); ++i) steps.push_back(points[i].bytes - points[i - 1].bytes);
  return mad_sigma(steps) / std::sqrt(2.0);
}

// Standard error of a slope fitted to n equally spaced points `step` apart
// with noise `sigma` (least squares; Theil–Sen's is close to it).
double slope_error(double sigma, std::size_t n, double step) {
  const double nn = static_cast<double>(n);
  return sigma / (step * std::sqrt(nn * (nn * nn - 1) / 12));
}

Window last_buckets(const BucketSeries& series, std::size_t scale, std::size_t n) {
  Window w;
  w.scale = scale;
  const auto& closed = series.closed();
  for (std::size_t i = closed.size() - n; i < closed.size(); ++i) {
    w.x.push_back(closed[i].start_s);
    w.y.push_back(closed[i].bytes);
  }
  w.span_s = w.x.back() - w.x.front() + series.bucket_seconds();
  return w;
}

}  // namespace

NonReclaimableHistory::NonReclaimableHistory(std::vector<BucketSeriesState> state) {
  if (!state.empty() && state.size() != kScalesSeconds.size()) {
    throw std::invalid_argument("non-reclaimable history has " + std::to_string(state.size()) + " scales, expected " +
                                std::to_string(kScalesSeconds.size()) + " — delete the state file to start fresh");
  }
  for (std::size_t i = 0; i < kScalesSeconds.size(); ++i) {
    scales_.emplace_back(kScalesSeconds[i], kBucketsPerScale, BucketReduce::minimum,
                         state.empty() ? BucketSeriesState{} : std::move(state[i]));
  }
}

bool NonReclaimableHistory::add(double time_s, double bytes) {
  bool closed = false;
  for (auto& s : scales_) closed = s.add(time_s, bytes).has_value() || closed;
  return closed;
}

std::vector<BucketSeriesState> NonReclaimableHistory::state() const {
  std::vector<BucketSeriesState> out;
  for (const auto& s : scales_) out.push_back(s.state());
  return out;
}

std::optional<TimeToOom> time_to_oom(double limit, double nonreclaimable, const NonReclaimableHistory& history,
                                     const ForecastConfig& config) {
  const auto& scales = history.scales();
  std::vector<double> noise;
  for (const auto& s : scales) noise.push_back(noise_of(s.closed()));

  struct Candidate {
    Window window;
    Trend trend;
    double relative_error = 0;  // the slope's standard error / the slope
  };
  std::vector<Candidate> growing;
  for (std::size_t si = 0; si < scales.size(); ++si) {
    const double step = scales[si].bucket_seconds();
    for (std::size_t n : kWindows) {
      if (n < config.min_buckets || scales[si].closed().size() < n) continue;
      Window w = last_buckets(scales[si], si, n);
      Trend t = trend(w.x, w.y);
      if (!(t.slope > 0) || t.probability < config.min_probability) continue;
      if (t.slope * (w.x.back() - w.x.front()) < config.min_rise_noise_ratio * noise[si]) continue;
      const std::size_t half = n / 2;
      const Trend older = trend({w.x.begin(), w.x.begin() + half}, {w.y.begin(), w.y.begin() + half});
      const Trend recent = trend({w.x.end() - half, w.x.end()}, {w.y.end() - half, w.y.end()});
      if (!(recent.slope > 0)) continue;
      // Bent: growth that started inside the window (a flat older half) would
      // drag the slope down; only windows within the growth count.
      const double half_error = slope_error(noise[si], half, step);
      if (older.slope < recent.slope / 2 && recent.slope - older.slope > 3 * std::sqrt(2.0) * half_error) continue;
      growing.push_back({std::move(w), t, slope_error(noise[si], n, step) / t.slope});
    }
  }
  // Vetoed: a finer, more recent window in which this rate would stand out clearly sees no growth.
  auto stopped = [&](const Candidate& c) {
    for (std::size_t si = 0; si < c.window.scale; ++si) {
      for (std::size_t n : kWindows) {
        if (scales[si].closed().size() < n) continue;
        Window w = last_buckets(scales[si], si, n);
        if (w.span_s >= c.window.span_s) continue;
        const double evident_rise = c.trend.slope * (w.x.back() - w.x.front());
        if (evident_rise < kEvidentNoiseRatio * std::max(noise[si], 1.0)) continue;
        const Trend t = trend(w.x, w.y);
        if (t.slope < c.trend.slope / 4 || t.probability < 0.5) return true;
      }
    }
    return false;
  };
  const Candidate* best = nullptr;
  for (const auto& c : growing) {
    if (stopped(c)) continue;
    if (!best || c.relative_error < best->relative_error) best = &c;
  }
  if (!best) return std::nullopt;
  return TimeToOom{std::max(0.0, limit - nonreclaimable) / best->trend.slope, best->trend.slope, best->trend.probability,
                   best->window.span_s};
}

}  // namespace ramflow::analysis
