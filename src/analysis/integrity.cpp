#include "analysis/integrity.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace ramflow::analysis {
namespace {

constexpr const char* kNativeAdvice = ": look at C extensions and drivers (buffers, arenas)";

}  // namespace

std::string validate(const ResidualThresholds& t) {
  if (!(t.medium_bytes > 0) || !(t.high_bytes > 0) || !std::isfinite(t.medium_bytes) || !std::isfinite(t.high_bytes)) {
    return "leak thresholds must be positive sizes: set RAMFLOW_LEAK_MEDIUM and RAMFLOW_LEAK_HIGH to MiB values, e.g. 5 and 20";
  }
  if (t.medium_bytes > t.high_bytes) {
    return "RAMFLOW_LEAK_MEDIUM must not exceed RAMFLOW_LEAK_HIGH: lower the first or raise the second";
  }
  return {};
}

std::string_view to_string(Integrity integrity) {
  switch (integrity) {
    case Integrity::secure: return "secure";
    case Integrity::stable: return "stable";
    case Integrity::bloated: return "bloated";
  }
  return "stable";
}

Integrity integrity(double residual, LeakLevel leak, const ResidualThresholds& t) {
  if (residual >= t.high_bytes || leak == LeakLevel::high) return Integrity::bloated;
  if (residual < t.medium_bytes && leak == LeakLevel::low) return Integrity::secure;
  return Integrity::stable;
}

SeedVerdict seed_verdict(double residual, double peak, const ResidualThresholds& t) {
  SeedVerdict v;
  v.level = residual < t.medium_bytes ? LeakLevel::low : residual < t.high_bytes ? LeakLevel::medium : LeakLevel::high;
  if (peak > 0) v.residual_share_of_peak = std::clamp(residual / peak, 0.0, 1.0);
  return v;
}

std::string_view to_string(BloatHolder holder) {
  switch (holder) {
    case BloatHolder::none: return "none";
    case BloatHolder::python_objects: return "python_objects";
    case BloatHolder::native_buffers: return "native_buffers";
    case BloatHolder::mixed: return "mixed";
  }
  return "none";
}

BloatAttribution what_holds_bloat(std::span<const TaskDelta> tasks, double bytes_per_block) {
  BloatAttribution a;
  double blocks = 0, anon = 0;
  for (const auto& t : tasks) {
    blocks += t.allocated_blocks;
    anon += t.rss_anon_bytes;
  }
  a.retained_bytes = std::max(0.0, anon);
  if (a.retained_bytes <= 0) {
    a.reason = "the tasks retained no anonymous memory";
    return a;
  }
  a.python_object_bytes = std::clamp(blocks * bytes_per_block, 0.0, a.retained_bytes);
  a.native_bytes = a.retained_bytes - a.python_object_bytes;
  const double share = a.python_object_bytes / a.retained_bytes;
  a.holder = share >= 0.6 ? BloatHolder::python_objects : share <= 0.4 ? BloatHolder::native_buffers : BloatHolder::mixed;
  char buf[200];
  std::snprintf(buf, sizeof buf, "%.0f %% of the %.1f MiB retained is Python objects (%.0f blocks x %.0f B)%s",
                100 * share, a.retained_bytes / kMiB, blocks, bytes_per_block,
                a.holder == BloatHolder::python_objects   ? ": look for globals, caches, unclosed cursors"
                : a.holder == BloatHolder::native_buffers ? kNativeAdvice
                                                          : "");
  a.reason = buf;
  return a;
}

BloatAttribution measured_bloat(const GrowthSplit& split, const std::string& capture_id, const BloatAttribution& estimate) {
  if (split.verdict == GrowthVerdict::no_growth || split.process_bytes < kMeasuredGrowthMinBytes) return estimate;
  BloatAttribution a;
  a.capture_id = capture_id;
  a.retained_bytes = std::max(0.0, split.process_bytes);
  a.native_bytes = std::min(split.native_bytes, a.retained_bytes);
  a.python_object_bytes = a.retained_bytes - a.native_bytes;
  a.holder = split.verdict == GrowthVerdict::native ? BloatHolder::native_buffers : BloatHolder::python_objects;
  char buf[240];
  std::snprintf(buf, sizeof buf, "allocation-site capture %s: %.0f %% of the %.1f MiB its window grew is traced Python allocations%s",
                capture_id.c_str(), 100 * (1 - split.native_share.value_or(0)), split.process_bytes / kMiB,
                a.holder == BloatHolder::python_objects ? ": its sites name the lines" : kNativeAdvice);
  a.reason = buf;
  return a;
}

}  // namespace ramflow::analysis
