#pragma once
// Everything the analytics learned, to and from JSON, so a restarted sidecar
// restores it: ready baselines, leak windows and levels, per-bucket series,
// OOM history. Bounded: a state larger than the limits below is rejected.
//
//   nlohmann::json j = to_json(state);                  // persist
//   AnalysisState back = analysis_state_from_json(j);   // throws std::invalid_argument

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "analysis/bucket_series.h"
#include "analysis/layers.h"
#include "analysis/leak_test.h"

namespace ramflow::analysis {

inline constexpr int kStateVersion = 1;
inline constexpr size_t kMaxStateProcesses = 1024;
inline constexpr size_t kMaxStateSeriesPoints = 4096;
inline constexpr size_t kMaxOomHistory = 64;

struct ProcessState {
  ProcessMemory baseline;                     // ready baselines and peaks
  LeakDetectorState leak;                     // residual (or bucket-minimum) window
  std::optional<BucketSeriesState> rss_minima = std::nullopt;  // only for processes without an agent
};

struct OomRecord {
  double time_s = 0;
  std::int64_t pid = 0;
  std::string task;  // "unknown" when no task was running
  double bytes = 0;  // memory the victim held at death
};

struct AnalysisState {
  std::map<std::string, ProcessState> processes;  // keyed by worker name (or "pid:<n>")
  BucketSeriesState nonreclaimable_minima;
  BucketSeriesState working_set_maxima;
  std::deque<OomRecord> oom_history;  // oldest first
};

// Appends, keeping the last kMaxOomHistory records.
void record_oom(AnalysisState& state, OomRecord record);

nlohmann::json to_json(const AnalysisState& state);
// Throws std::invalid_argument naming the bad field, e.g. "ramflow state:
// processes.celery@a/1.leak.window[3].bytes: not a number — delete the state
// file to start fresh".
AnalysisState analysis_state_from_json(const nlohmann::json& json);

}  // namespace ramflow::analysis
