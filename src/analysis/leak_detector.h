#pragma once
// The leak test: is a process's post-task residual (or, without an agent, its
// per-bucket minimum RSS) growing in a way that persists? Definitions in
// docs/analysis.md and DESIGN.md "leak level". Pure: samples carry their time.
//
//   LeakDetector detector;                       // one per process
//   detector.add({.x = task_index, .time_s = t, .bytes = residual});
//   if (detector.level() == LeakLevel::high) ...
//
// Cost per add: O(W^2) for the window W (default 100); memory O(W).
// Not thread-safe: one owner per detector.

#include <cstddef>
#include <deque>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "thresholds/thresholds.h"
#include "analysis/units.h"

namespace ramflow::analysis {

enum class LeakLevel { low = 0, medium = 1, high = 2 };
std::string_view to_string(LeakLevel level);
// Parses "low" / "medium" / "high"; std::nullopt otherwise.
std::optional<LeakLevel> leak_level_from_string(std::string_view text);

struct LeakSample {
  double x = 0;       // task index, or the bucket's start time in seconds
  double time_s = 0;  // when the sample was taken, seconds (any fixed epoch)
  double bytes = 0;   // residual bytes, or the bucket's minimum RSS
};

struct LeakConfig {
  size_t window = 100;      // W: the last W samples are tested
  size_t min_samples = 10;  // no verdict below this
  double restart_horizon_s = 24 * 3600.0;
  double high_threshold_bytes = thresholds::kLeakHighMiB * kMiB;  // growth over the horizon that matters
  int hysteresis_evaluations = 3;  // a level drops after its condition failed this many times in a row
  // Strengthening (docs/analysis.md): growth carried by at most this many
  // jumps of the filtered series is a step (fragmentation, a cache), not a leak.
  size_t step_jumps = 3;
  double step_share = 0.6;  // ... when those jumps make up at least this share of the rise
  // Smallest noise the gates assume (one CPython arena, 1 MiB): sub-MiB creep of a
  // quiet process (allocator warm-up) is not a leak, however regular.
  double noise_floor_bytes = 1 * kMiB;
};

// Empty when usable, else what to change (window >= min_samples >= 3, hysteresis >= 1, ...).
std::string validate(const LeakConfig& config);

struct LeakEvaluation {
  bool evaluated = false;  // false until min_samples samples are in the window
  size_t samples = 0;
  // The probability that the process leaks, in the band of its level
  // (leak_probability()): never "100 %" beside LOW.
  double probability = 0;
  double trend_probability = 0;  // Mann–Kendall 1 - p over the window: "it grows", not "it leaks"
  double rate_per_x = 0;        // Theil–Sen slope, bytes per task (or per second for buckets)
  double rate_bytes_per_s = 0;  // rate_per_x x the observed x-per-second
  double noise_bytes = 0;       // 1.4826 x MAD of residuals around the Theil–Sen line
  double growth_bytes = 0;      // rate_per_x x the window's x span
  double observed_seconds = 0;  // time from the window's first sample to its last
  double step_share = 0;        // share of the rise carried by the largest jumps
  LeakLevel raw_level = LeakLevel::low;  // this evaluation's verdict, before hysteresis
  LeakLevel level = LeakLevel::low;      // the reported level, after hysteresis
};

// The leak probability shown with `level`: the evidence for a leak in 0..1
// (the trend's confidence x how far the growth over the window stands above
// the noise, up to 3 noise widths), mapped into the level's band: LOW under
// thresholds::kLeakProbabilityMedium, MEDIUM under kLeakProbabilityHigh,
// HIGH at or above it. Not evaluated: 0.
double leak_probability(const LeakEvaluation& evaluation, LeakLevel level);

// The verdict on one window, without hysteresis. bytes_to_limit: what is left
// before the limit (limit - current memory), if known.
LeakEvaluation evaluate_leak_window(std::span<const LeakSample> window, const LeakConfig& config,
                                    std::optional<double> bytes_to_limit = std::nullopt);

// Everything a detector has learned; enough to restore it after a restart.
struct LeakDetectorState {
  std::deque<LeakSample> window;
  LeakLevel level = LeakLevel::low;
  int failed_high = 0;    // consecutive evaluations whose raw level was below high
  int failed_medium = 0;  // ... below medium
};

// One hysteresis step: rises at once; a level drops only after its condition
// (raw >= that level) failed `evaluations` times in a row. Updates the state's
// counters and level; returns the new level.
LeakLevel apply_hysteresis(LeakDetectorState& state, LeakLevel raw, int evaluations);

class LeakDetector {
 public:
  // Throws std::invalid_argument when validate(config) is not empty or the
  // restored window is not in increasing x order.
  explicit LeakDetector(LeakConfig config = {}, LeakDetectorState state = {});

  // Adds a sample and evaluates the window. Throws std::invalid_argument on a
  // non-finite value or an x not after the previous one (the test needs order).
  const LeakEvaluation& add(const LeakSample& sample, std::optional<double> bytes_to_limit = std::nullopt);

  LeakLevel level() const { return state_.level; }
  const LeakEvaluation& last() const { return last_; }
  const LeakDetectorState& state() const { return state_; }
  const LeakConfig& config() const { return config_; }

 private:
  LeakConfig config_;
  LeakDetectorState state_;
  LeakEvaluation last_;
};

}  // namespace ramflow::analysis
