// One allocation-site capture as ramflowd keeps it (docs/allocation-sites.md):
// why and when it was asked, the window the agent recorded, and the sites
// that grew. The daemon's capture book fills it; snapshots, the report and
// the state file carry it.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "analysis/allocation_capture.h"

namespace ramflow::model {

// requested: sent, no answer yet; running: the agent's window is open;
// done / refused / failed: as the agent said; lost: no answer in time, or the
// process ended before its window did.
enum class CaptureStatus { requested, running, done, refused, failed, lost };
std::string_view to_string(CaptureStatus status);
std::optional<CaptureStatus> capture_status_from_string(std::string_view text);
inline bool finished(CaptureStatus s) { return s != CaptureStatus::requested && s != CaptureStatus::running; }

struct CaptureFrame {
  std::string file;
  std::uint32_t line = 0;
  std::string function;
};

struct CaptureSite {
  std::int64_t bytes = 0;
  std::int64_t blocks = 0;
  std::string code;
  std::vector<CaptureFrame> frames;  // most recent first
  std::uint32_t site = 0;            // index of the application's line in frames
};

struct AllocationCapture {
  std::string id;
  pid_t pid = 0;
  std::uint64_t start_ticks = 0;  // the process it was asked of (a pid is reused)
  std::string worker;
  analysis::CaptureReason reason = analysis::CaptureReason::on_demand;
  std::string reason_text;  // one line: what made it worth capturing
  double requested_at = 0;
  CaptureStatus status = CaptureStatus::requested;
  std::string error;
  // The window asked for and the one recorded.
  std::uint64_t tasks_wanted = 0;
  double seconds_wanted = 0;
  std::uint32_t frames = 0;
  std::string tracing;  // "agent" or "application"
  double started = 0;
  double ended = 0;
  std::string ended_by;  // "tasks", "seconds", "deadline", "exit"
  std::uint64_t tasks = 0;
  // The process runs tasks concurrently (threads, gevent, eventlet pools):
  // the window holds every task that ran in it, each counted.
  bool concurrent = false;
  // Done: growth over the window, bytes.
  std::optional<std::int64_t> rss_growth, anon_growth, traced_growth, tracemalloc_growth;
  std::vector<CaptureSite> sites;
  std::optional<double> oom_killed_at;  // the process was OOM-killed after it
};

// What a done capture's window grew, split into Python and native; empty
// until the agent reported the growth.
std::optional<analysis::GrowthSplit> growth_split(const AllocationCapture& c);

}  // namespace ramflow::model
