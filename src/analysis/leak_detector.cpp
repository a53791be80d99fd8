#include "analysis/leak_detector.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <stdexcept>
#include <vector>

#include "analysis/stats.h"

namespace ramflow::analysis {
namespace {

struct Trend {
  MannKendall mk;
  LinearFit fit;
  double span_x = 0;  // W in x units: samples x mean x step
};

std::optional<Trend> trend_of(std::span<const LeakSample> samples) {
  std::vector<double> x, y;
  x.reserve(samples.size());
  y.reserve(samples.size());
  for (const auto& s : samples) {
    x.push_back(s.x);
    y.push_back(s.bytes);
  }
  const auto fit = theil_sen(x, y);
  if (!fit) return std::nullopt;
  const auto n = static_cast<double>(samples.size());
  const double mean_step = (x.back() - x.front()) / (n - 1);
  return Trend{mann_kendall(y), *fit, n * mean_step};
}

double noise_around(std::span<const LeakSample> samples, const LinearFit& fit) {
  std::vector<double> residuals;
  residuals.reserve(samples.size());
  for (const auto& s : samples) residuals.push_back(s.bytes - (fit.intercept + fit.slope * s.x));
  return mad_sigma(residuals);
}

// Share of the window's rise carried by its `jumps` largest rises between
// neighbours, after a 3-point median filter drops one-task transients.
double step_share_of(std::span<const LeakSample> samples, double rise, size_t jumps) {
  if (rise <= 0 || samples.size() < 3) return 0;
  std::vector<double> filtered;
  filtered.reserve(samples.size());
  filtered.push_back(samples.front().bytes);
  for (size_t i = 1; i + 1 < samples.size(); ++i) {
    double a = samples[i - 1].bytes, b = samples[i].bytes, c = samples[i + 1].bytes;
    filtered.push_back(std::max(std::min(a, b), std::min(std::max(a, b), c)));
  }
  filtered.push_back(samples.back().bytes);
  std::vector<double> rises;
  for (size_t i = 1; i < filtered.size(); ++i) rises.push_back(std::max(0.0, filtered[i] - filtered[i - 1]));
  const size_t k = std::min(jumps, rises.size());
  std::partial_sort(rises.begin(), rises.begin() + static_cast<std::ptrdiff_t>(k), rises.end(), std::greater<>());
  double carried = 0;
  for (size_t i = 0; i < k; ++i) carried += rises[i];
  return carried / rise;
}

// A half of the window grows on its own: positive, likely, and large against the noise.
bool half_grows(std::span<const LeakSample> half, double noise) {
  const auto t = trend_of(half);
  return t && t->fit.slope > 0 && t->mk.probability >= 0.90 && t->fit.slope * t->span_x >= 2 * noise;
}

}  // namespace

std::string_view to_string(LeakLevel level) {
  switch (level) {
    case LeakLevel::low: return "low";
    case LeakLevel::medium: return "medium";
    case LeakLevel::high: return "high";
  }
  return "low";
}

std::optional<LeakLevel> leak_level_from_string(std::string_view text) {
  for (auto level : {LeakLevel::low, LeakLevel::medium, LeakLevel::high}) {
    if (to_string(level) == text) return level;
  }
  return std::nullopt;
}

std::string validate(const LeakConfig& c) {
  if (c.min_samples < 3) return "leak test needs at least 3 samples per verdict (min_samples), e.g. 10";
  if (c.window < c.min_samples) return "leak window must hold at least min_samples samples, e.g. window 100, min_samples 10";
  if (c.hysteresis_evaluations < 1) return "leak hysteresis must be at least 1 evaluation, e.g. 3";
  if (!(c.restart_horizon_s > 0) || !(c.high_threshold_bytes > 0)) {
    return "restart horizon and high threshold must be positive, e.g. 86400 s and 20 MiB";
  }
  if (c.step_jumps < 1 || !(c.step_share > 0)) return "step check needs step_jumps >= 1 and step_share > 0, e.g. 3 and 0.6";
  return {};
}

namespace {

LeakEvaluation evaluate_raw(std::span<const LeakSample> window, const LeakConfig& config,
                            std::optional<double> bytes_to_limit) {
  LeakEvaluation e;
  e.samples = window.size();
  if (window.size() < std::max<size_t>(config.min_samples, 2)) return e;
  const auto whole = trend_of(window);
  if (!whole) return e;
  e.evaluated = true;
  e.trend_probability = whole->mk.probability;
  e.rate_per_x = whole->fit.slope;
  const double elapsed = window.back().time_s - window.front().time_s;
  e.observed_seconds = std::max(0.0, elapsed);
  if (elapsed > 0) e.rate_bytes_per_s = e.rate_per_x * (window.back().x - window.front().x) / elapsed;
  // A quiet process has almost no scatter, so any allocator creep would pass a
  // gate of a few MADs: the gate never goes below noise_floor_bytes.
  e.noise_bytes = std::max(noise_around(window, whole->fit), config.noise_floor_bytes);
  const double growth = e.rate_per_x * whole->span_x;
  e.growth_bytes = growth;
  e.step_share = step_share_of(window, e.rate_per_x * (window.back().x - window.front().x), config.step_jumps);

  const size_t half = window.size() / 2;
  const auto older = window.first(half);
  const auto recent = window.subspan(half);

  const bool medium = e.trend_probability >= thresholds::kLeakMediumProbability && e.rate_per_x > 0 && growth >= 2 * e.noise_bytes && [&] {
    const auto r = trend_of(recent);
    return r && r->fit.slope > 0;
  }();
  if (!medium) return e;
  e.raw_level = LeakLevel::medium;

  const double horizon_growth = e.rate_bytes_per_s * config.restart_horizon_s;
  const bool matters = horizon_growth >= config.high_threshold_bytes ||
                       (bytes_to_limit && horizon_growth >= *bytes_to_limit);
  const bool high = e.trend_probability >= thresholds::kLeakHighProbability && growth >= 3 * e.noise_bytes && matters &&
                    e.step_share < config.step_share && half_grows(older, e.noise_bytes) &&
                    half_grows(recent, e.noise_bytes);
  if (high) e.raw_level = LeakLevel::high;
  return e;
}

}  // namespace

double leak_probability(const LeakEvaluation& e, LeakLevel level) {
  using namespace thresholds;
  if (!e.evaluated) return 0;
  const double growth = e.rate_per_x > 0 ? e.growth_bytes : 0;
  const double size = e.noise_bytes > 0 ? std::clamp(growth / (3 * e.noise_bytes), 0.0, 1.0) : (growth > 0 ? 1.0 : 0.0);
  const double evidence = std::clamp(e.trend_probability, 0.0, 1.0) * size;
  // The open upper ends keep LOW and MEDIUM strictly under the next band.
  constexpr double kOpen = 0.999;
  switch (level) {
    case LeakLevel::low: return kLeakProbabilityMedium * evidence * kOpen;
    case LeakLevel::medium: return kLeakProbabilityMedium + (kLeakProbabilityHigh - kLeakProbabilityMedium) * evidence * kOpen;
    case LeakLevel::high: return kLeakProbabilityHigh + (1 - kLeakProbabilityHigh) * evidence;
  }
  return 0;
}

LeakEvaluation evaluate_leak_window(std::span<const LeakSample> window, const LeakConfig& config,
                                    std::optional<double> bytes_to_limit) {
  LeakEvaluation e = evaluate_raw(window, config, bytes_to_limit);
  e.level = e.raw_level;
  e.probability = leak_probability(e, e.level);
  return e;
}

LeakLevel apply_hysteresis(LeakDetectorState& state, LeakLevel raw, int evaluations) {
  state.failed_high = raw < LeakLevel::high ? state.failed_high + 1 : 0;
  state.failed_medium = raw < LeakLevel::medium ? state.failed_medium + 1 : 0;
  LeakLevel level = raw;
  if (state.level == LeakLevel::high && raw < LeakLevel::high && state.failed_high < evaluations) {
    level = LeakLevel::high;
  } else if (state.level >= LeakLevel::medium && raw < LeakLevel::medium && state.failed_medium < evaluations) {
    level = LeakLevel::medium;
  }
  state.level = level;
  return level;
}

LeakDetector::LeakDetector(LeakConfig config, LeakDetectorState state)
    : config_(config), state_(std::move(state)) {
  if (const auto problem = validate(config_); !problem.empty()) throw std::invalid_argument(problem);
  for (size_t i = 1; i < state_.window.size(); ++i) {
    if (!(state_.window[i].x > state_.window[i - 1].x)) {
      throw std::invalid_argument("restored leak window is not in increasing x order — delete the state file to start fresh");
    }
  }
  while (state_.window.size() > config_.window) state_.window.pop_front();
  // A restored window shows its evaluation at once, not after the next sample;
  // the level is the saved one (no hysteresis step without a new sample).
  if (!state_.window.empty()) {
    last_ = evaluate_leak_window(std::vector<LeakSample>(state_.window.begin(), state_.window.end()), config_);
  }
  last_.level = state_.level;
  last_.probability = leak_probability(last_, last_.level);
}

const LeakEvaluation& LeakDetector::add(const LeakSample& sample, std::optional<double> bytes_to_limit) {
  if (!std::isfinite(sample.x) || !std::isfinite(sample.time_s) || !std::isfinite(sample.bytes)) {
    throw std::invalid_argument("leak sample must be finite numbers (x, time, bytes)");
  }
  if (!state_.window.empty() && sample.x <= state_.window.back().x) {
    throw std::invalid_argument("leak samples must come in increasing x (task index or bucket start)");
  }
  state_.window.push_back(sample);
  while (state_.window.size() > config_.window) state_.window.pop_front();
  const std::vector<LeakSample> window(state_.window.begin(), state_.window.end());
  last_ = evaluate_leak_window(window, config_, bytes_to_limit);
  if (!last_.evaluated) {
    last_.level = state_.level;
    return last_;
  }
  last_.level = apply_hysteresis(state_, last_.raw_level, config_.hysteresis_evaluations);
  last_.probability = leak_probability(last_, last_.level);
  return last_;
}

}  // namespace ramflow::analysis
