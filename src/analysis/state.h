#pragma once
// What the analysis learned, to and from JSON, so a restarted sidecar goes on
// where it stopped: each process's leak window and level (and where its x axis
// stands), its ready marker as last seen and its bucket minima; each cgroup's
// bucket series behind the time-to-OOM forecast and the request. Baselines
// need no saving: the agent re-sends its hello and phases when it reconnects.
// Bounded: a state larger than the limits below is rejected.
//
//   nlohmann::json j = to_json(state);                  // persist
//   AnalysisState back = analysis_state_from_json(j);   // throws std::invalid_argument

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "analysis/bucket_series.h"
#include "analysis/leak_detector.h"

namespace ramflow::analysis {

inline constexpr int kStateVersion = 3;
inline constexpr size_t kMaxStateProcesses = 4096;
inline constexpr size_t kMaxStateCgroups = 1024;
inline constexpr size_t kMaxStateSeriesPoints = 16384;  // a week of 60 s buckets fits
inline constexpr size_t kMaxStateScales = 8;

struct ProcessState {
  std::int64_t pid = 0;
  std::uint64_t start_ticks = 0;  // /proc/PID/stat starttime: the same pid later is another process
  std::string leak_series;        // "residual", "rss_bucket_minimum", or "" before either
  LeakDetectorState leak;
  double next_x = 0;              // x the next residual sample takes (task index across restarts)
  double ready_time = 0;          // the agent's ready marker the peak below counts from
  double max_rss_since_ready = 0;
  BucketSeriesState rss_minima;
};

struct CgroupState {
  std::vector<BucketSeriesState> nonreclaimable_minima;  // one per forecast scale (forecast.h)
  BucketSeriesState nonreclaimable_maxima;               // the request's per-bucket peaks
};

struct AnalysisState {
  std::vector<ProcessState> processes;
  std::map<std::string, CgroupState> cgroups;  // keyed by cgroup path
};

nlohmann::json to_json(const AnalysisState& state);
// Throws std::invalid_argument naming the bad field, e.g. "ramflow state:
// processes[2].leak.window[3]: not [x, time_s, bytes] numbers — delete the
// state file to start fresh".
AnalysisState analysis_state_from_json(const nlohmann::json& json);

}  // namespace ramflow::analysis
