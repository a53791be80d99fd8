// The state file: what the analysis and the OOM forensics learned, kept in
// --state-dir (the pod's emptyDir) so a restarted sidecar goes on where it
// stopped. Written atomically (temporary file, then rename) in each sampling
// interval in which it changed — unless the last write took so much CPU time
// that writing again now would spend more than kStateWriteCpuShare of a core:
// a write costing 20 ms of CPU (a week of history, 64 busy workers) then waits
// 20 s. So a SIGKILL loses at most one interval of a small state and at most
// write-CPU-time / kStateWriteCpuShare of a large one. A directory that cannot be
// written is logged once and counted; serving goes on. docs/reliability.md.
//
//   StateStore store(config.state_dir);
//   store.restore([&](const analysis::AnalysisState& a, std::string_view oom) { ... });  // at start
//   store.save_if_changed(generation, [&] { return analyzer.save_state(); }, oom_json, now);  // each cycle
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "analysis/state.h"
#include "model/state_file_status.h"

namespace ramflow::daemon {

inline constexpr std::uintmax_t kMaxStateFileBytes = 64u << 20;
// Most of one core that writing the state file may take, on average.
inline constexpr double kStateWriteCpuShare = 0.001;

class StateStore {
 public:
  explicit StateStore(std::string dir);  // "" disables the store

  bool enabled() const { return !dir_.empty(); }
  std::string path() const { return dir_ + "/ramflow-state.json"; }

  // Reads the state file and hands its parts to `apply`, which throws
  // std::exception on content it cannot take. A missing file means a first
  // start; a file that cannot be read back is moved aside to
  // ramflow-state.json.corrupt (for a bug report) and the sidecar starts fresh.
  // Returns true when a state was applied.
  using Apply = std::function<void(const analysis::AnalysisState&, std::string_view oom_json)>;
  bool restore(const Apply& apply);

  // Writes when `generation` or `oom_json` (OomTracker::to_json's text, which
  // goes into the file as it is) differs from what was last written
  // and the cost rule above allows it; `force` (at SIGTERM) skips the rule.
  void save_if_changed(std::uint64_t generation, const std::function<analysis::AnalysisState()>& analysis,
                       const std::string& oom_json, double now, bool force = false);

  model::StateFileStatus status() const { return status_; }

 private:
  bool write(const std::string& text, std::string* error);
  void set_aside(const std::string& why);

  std::string dir_;
  std::optional<std::uint64_t> written_generation_;
  std::string written_oom_;
  bool failing_ = false;
  double next_allowed_ = 0;  // steady-clock seconds
  model::StateFileStatus status_;
};

}  // namespace ramflow::daemon
