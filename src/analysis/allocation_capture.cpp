#include "analysis/allocation_capture.h"

#include <algorithm>
#include <cmath>

namespace ramflow::analysis {

std::string_view to_string(CaptureReason reason) {
  switch (reason) {
    case CaptureReason::on_demand: return "on_demand";
    case CaptureReason::leak_high: return "leak_high";
    case CaptureReason::oom_near: return "oom_near";
  }
  return "on_demand";
}

std::optional<CaptureReason> capture_reason_from_string(std::string_view text) {
  for (auto r : {CaptureReason::on_demand, CaptureReason::leak_high, CaptureReason::oom_near}) {
    if (text == to_string(r)) return r;
  }
  return std::nullopt;
}

CaptureWindow leak_window(const LeakEvaluation& leak, bool per_task, const CaptureDefaults& d) {
  CaptureWindow w{d.tasks, d.seconds};
  if (leak.rate_per_x <= 0 || !std::isfinite(leak.rate_per_x)) return w;
  const double needed = std::ceil(kCaptureTargetGrowthBytes / leak.rate_per_x);
  if (per_task) {
    w.tasks = static_cast<std::size_t>(std::clamp(needed, static_cast<double>(d.tasks),
                                                  static_cast<double>(std::max(d.max_tasks, d.tasks))));
  } else {
    w.tasks = std::max(d.max_tasks, d.tasks);
    w.seconds = std::clamp(needed, kCaptureMinSeconds, std::max(d.seconds, kCaptureMinSeconds));
  }
  return w;
}

CaptureWindow oom_window(double time_to_oom_seconds, const CaptureDefaults& d) {
  const double quarter = std::isfinite(time_to_oom_seconds) ? time_to_oom_seconds / 4 : d.seconds;
  return {std::max(d.max_tasks, d.tasks), std::clamp(quarter, kCaptureMinSeconds, std::max(d.seconds, kCaptureMinSeconds))};
}

bool capture_due(std::optional<double> last_automatic, double now, double every_seconds) {
  return !last_automatic || now - *last_automatic >= every_seconds;
}

std::string_view to_string(GrowthVerdict verdict) {
  switch (verdict) {
    case GrowthVerdict::no_growth: return "no_growth";
    case GrowthVerdict::python: return "python";
    case GrowthVerdict::native: return "native";
  }
  return "no_growth";
}

GrowthSplit split_growth(double anon_growth, double tracemalloc_growth, double traced_growth) {
  GrowthSplit s;
  s.process_bytes = anon_growth - std::max(0.0, tracemalloc_growth);
  s.python_bytes = traced_growth;
  s.native_bytes = std::max(0.0, s.process_bytes - std::max(0.0, traced_growth));
  if (s.process_bytes > 0) s.native_share = std::min(1.0, s.native_bytes / s.process_bytes);
  if (s.native_share && s.native_bytes >= kNativeMinBytes && *s.native_share >= kNativeShare) {
    s.verdict = GrowthVerdict::native;
  } else if (traced_growth > 0) {
    s.verdict = GrowthVerdict::python;
  }
  return s;
}

}  // namespace ramflow::analysis
