#pragma once
// When an allocation-site capture is worth its cost, how long its window
// lasts, and what its figures say (docs/allocation-sites.md). Pure.
//
// A window costs the worker while it lasts (tracemalloc: bench/agent/
// capture_cost.py), so it must last just long enough for the leak to stand
// out: the leak's own rate sizes it. A clean 20-task window keeps ~15 KiB of
// allocator free lists that look like growth; kTargetGrowthBytes is ~70
// times that.

#include <cstddef>
#include <optional>
#include <string_view>

#include "analysis/leak_detector.h"

namespace ramflow::analysis {

inline constexpr double kCaptureTargetGrowthBytes = 1024.0 * 1024.0;
inline constexpr double kCaptureMinSeconds = 2;
// A native verdict needs this much RSS growth the traces do not explain, so
// that allocator warm-up (a few hundred KiB) never reads as a native leak.
inline constexpr double kNativeMinBytes = 1024.0 * 1024.0;
inline constexpr double kNativeShare = 0.5;

enum class CaptureReason { on_demand, leak_high, oom_near };
std::string_view to_string(CaptureReason reason);
std::optional<CaptureReason> capture_reason_from_string(std::string_view text);

struct CaptureWindow {
  std::size_t tasks = 0;  // ends after this many task ends ...
  double seconds = 0;     // ... or this long, at a task end, whichever first
};

struct CaptureDefaults {
  std::size_t tasks = 20;
  double seconds = 60;
  std::size_t max_tasks = 1000;  // a leak-sized window never waits for more
};

// The window for a process whose leak turned high: enough tasks for the leak
// (rate per task) to grow kCaptureTargetGrowthBytes, at least the default
// task count, at most max_tasks; the default seconds as the time bound. With
// the per-bucket series (no task ends: rate per second) the time does it.
CaptureWindow leak_window(const LeakEvaluation& leak, bool per_task, const CaptureDefaults& defaults);

// Before an OOM kill: a quarter of the time left (the result must arrive
// before the kill; the agent's hard end is twice the window), at least
// kCaptureMinSeconds, at most the default seconds; ended by time alone.
CaptureWindow oom_window(double time_to_oom_seconds, const CaptureDefaults& defaults);

// An automatic capture is due when none of this process ran within `every`.
bool capture_due(std::optional<double> last_automatic, double now, double every_seconds);

// What the growth of a window was made of: Python allocations (traced) or
// native memory (RssAnon grew, tracemalloc's traces did not follow).
enum class GrowthVerdict { no_growth, python, native };
std::string_view to_string(GrowthVerdict verdict);

struct GrowthSplit {
  double process_bytes = 0;  // RssAnon growth less tracemalloc's own
  double python_bytes = 0;   // traced growth
  double native_bytes = 0;   // what the traces do not explain, >= 0
  std::optional<double> native_share;  // of process_bytes; empty when it did not grow
  GrowthVerdict verdict = GrowthVerdict::no_growth;
};

// native = max(0, anon - tracemalloc's own - traced); native when at least
// kNativeMinBytes and kNativeShare of the growth; python when traced grew.
GrowthSplit split_growth(double anon_growth, double tracemalloc_growth, double traced_growth);

}  // namespace ramflow::analysis
