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
// Reading it back is bounded by the memory the sidecar may use: the parse may
// take `restore_budget_bytes` (state_restore_budget(): half of what the
// sidecar's memory cgroup has free) and stops past it or past 16 levels of
// nesting; a file larger than the budget / kCountedBytesPerFileByte is not
// read at all, and a state that large is not written. A marker file written
// before the parse and removed after it tells the next start that a load was
// killed half-way (out of memory): that file is moved aside unread.
//
//   StateStore store(config.state_dir, state_restore_budget("/proc", "/sys/fs/cgroup"));
//   store.restore([&](const analysis::AnalysisState& a, std::string_view oom) { ... });  // at start
//   store.save_if_changed(generation, [&] { return analyzer.save_state(); }, oom_json, now);  // each cycle
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "analysis/state.h"
#include "daemon/restore_budget.h"
#include "model/state_file_status.h"

namespace ramflow::daemon {

// What the bounded parse counts per byte of a real state file: 9.5 for the
// largest bench state (64 processes, a week of peaks), rounded up. A hostile
// file of the same size may count 46 per byte: the budget stops it.
inline constexpr std::uint64_t kCountedBytesPerFileByte = 10;
inline constexpr std::uint64_t kDefaultRestoreBudget = 48u << 20;
inline constexpr int kMaxStateNesting = 16;
// Most of one core that writing the state file may take, on average.
inline constexpr double kStateWriteCpuShare = 0.001;

class StateStore {
 public:
  // "" disables the store.
  explicit StateStore(std::string dir, RestoreBudget restore_budget = {kDefaultRestoreBudget, "the default"});

  bool enabled() const { return !dir_.empty(); }
  std::string path() const { return dir_ + "/ramflow-state.json"; }
  std::string loading_marker() const { return dir_ + "/ramflow-state.json.loading"; }
  std::uint64_t max_file_bytes() const { return restore_budget_.bytes / kCountedBytesPerFileByte; }

  // Reads the state file and hands its parts to `apply`, which throws
  // std::exception on content it cannot take. A missing file means a first
  // start; a file that cannot be read back within the bounds above, or whose
  // last load never finished, is moved aside to ramflow-state.json.corrupt
  // (for a bug report) and the sidecar starts fresh. Returns true when a
  // state was applied.
  using Apply = std::function<void(const analysis::AnalysisState&, std::string_view oom_json)>;
  bool restore(const Apply& apply);

  // Writes when `generation` or `oom_json` (OomTracker::to_json's text, which
  // goes into the file as it is) differs from what was last written
  // and the cost rule above allows it; `force` (at SIGTERM) skips the rule.
  // `captures_json` (the capture book's part) is written beside them when not empty.
  void save_if_changed(std::uint64_t generation, const std::function<analysis::AnalysisState()>& analysis,
                       const std::string& oom_json, double now, bool force = false, std::string_view captures_json = {});
  // The "captures" part of the last state restored, as text; empty when it had none.
  const std::string& restored_captures() const { return restored_captures_; }

  model::StateFileStatus status() const { return status_; }

 private:
  bool write(const std::string& text, std::string* error);
  void set_aside(const std::string& why);
  bool load(const Apply& apply);
  std::string budget_text() const;

  std::string dir_;
  RestoreBudget restore_budget_;
  std::optional<std::uint64_t> written_generation_;
  std::string written_oom_;
  std::string written_captures_;
  std::string restored_captures_;
  bool failing_ = false;
  double next_allowed_ = 0;  // steady-clock seconds
  model::StateFileStatus status_;
};

}  // namespace ramflow::daemon
