#include "model/allocation_capture.h"

namespace ramflow::model {

std::string_view to_string(CaptureStatus status) {
  switch (status) {
    case CaptureStatus::requested: return "requested";
    case CaptureStatus::running: return "running";
    case CaptureStatus::done: return "done";
    case CaptureStatus::refused: return "refused";
    case CaptureStatus::failed: return "failed";
    case CaptureStatus::lost: return "lost";
  }
  return "lost";
}

std::optional<CaptureStatus> capture_status_from_string(std::string_view text) {
  for (auto s : {CaptureStatus::requested, CaptureStatus::running, CaptureStatus::done, CaptureStatus::refused,
                 CaptureStatus::failed, CaptureStatus::lost}) {
    if (text == to_string(s)) return s;
  }
  return std::nullopt;
}

std::optional<analysis::GrowthSplit> growth_split(const AllocationCapture& c) {
  if (c.status != CaptureStatus::done || !c.anon_growth || !c.traced_growth) return std::nullopt;
  return analysis::split_growth(static_cast<double>(*c.anon_growth), static_cast<double>(c.tracemalloc_growth.value_or(0)),
                                static_cast<double>(*c.traced_growth));
}

}  // namespace ramflow::model
