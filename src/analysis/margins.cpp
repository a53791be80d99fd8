#include "analysis/margins.h"

#include <algorithm>
#include <cstdio>

namespace ramflow::analysis {

double working_set_bytes(double usage, double inactive_file) { return std::max(0.0, usage - inactive_file); }

double nonreclaimable_bytes(double anon, double shmem, double unevictable) { return anon + shmem + unevictable; }

std::string_view to_string(LimitSource source) { return source == LimitSource::cgroup ? "cgroup" : "host"; }

Margins margins(const MemorySnapshot& s) {
  Margins m;
  if (!s.cgroup_limit_bytes) {
    m.source = LimitSource::host;
    m.limit_bytes = s.mem_total_bytes;
    if (s.mem_total_bytes > 0) m.safety = m.nonreclaimable = std::clamp(s.mem_available_bytes / s.mem_total_bytes, 0.0, 1.0);
    return m;
  }
  m.limit_bytes = *s.cgroup_limit_bytes;
  if (m.limit_bytes <= 0) return m;
  m.safety = std::max(0.0, (m.limit_bytes - s.working_set_bytes) / m.limit_bytes);
  m.nonreclaimable = std::max(0.0, (m.limit_bytes - s.nonreclaimable_bytes) / m.limit_bytes);
  return m;
}

OomRisk oom_risk(const Margins& m, std::optional<Pressure> pressure, const OomRiskConfig& c) {
  OomRisk r;
  r.real_pressure = pressure && (pressure->some >= c.pressure_some || pressure->full >= c.pressure_full);
  char buf[200];
  if (m.nonreclaimable < c.margin_threshold) {
    r.at_risk = true;
    std::snprintf(buf, sizeof buf, "memory the kernel cannot reclaim leaves only %.1f %% of the limit (under %.0f %%)",
                  100 * m.nonreclaimable, 100 * c.margin_threshold);
  } else if (m.safety < c.margin_threshold && r.real_pressure) {
    r.at_risk = true;
    std::snprintf(buf, sizeof buf, "working set leaves %.1f %% of the limit and memory pressure is real (some %.0f %%, full %.0f %%)",
                  100 * m.safety, 100 * pressure->some, 100 * pressure->full);
  } else if (m.safety < c.margin_threshold) {
    std::snprintf(buf, sizeof buf, "working set leaves %.1f %% of the limit, but without memory pressure: page cache the kernel can drop",
                  100 * m.safety);
  } else {
    std::snprintf(buf, sizeof buf, "%.1f %% of the limit is free of non-reclaimable memory", 100 * m.nonreclaimable);
  }
  r.reason = buf;
  return r;
}

std::string_view to_string(MarginVerdict verdict) {
  switch (verdict) {
    case MarginVerdict::healthy: return "healthy";
    case MarginVerdict::tight: return "tight";
    case MarginVerdict::critical: return "critical";
  }
  return "healthy";
}

MarginVerdict margin_verdict(const Margins& m, const OomRisk& risk, const OomRiskConfig& config) {
  if (risk.at_risk || m.nonreclaimable < config.margin_threshold) return MarginVerdict::critical;
  if (m.nonreclaimable < std::max(thresholds::kMarginTight, config.margin_threshold)) return MarginVerdict::tight;
  return MarginVerdict::healthy;
}

Footprint group_footprint(double largest_vmhwm, double highest_sampled_nonreclaimable) {
  if (highest_sampled_nonreclaimable > largest_vmhwm) return {highest_sampled_nonreclaimable, "sampled_nonreclaimable"};
  return {largest_vmhwm, "vmhwm"};
}

std::string_view to_string(FootprintVerdict verdict) {
  return verdict == FootprintVerdict::near_limit ? "near_limit" : "fits";
}

FootprintVerdict footprint_verdict(double footprint, double limit) {
  return limit > 0 && footprint >= thresholds::kNearLimit * limit ? FootprintVerdict::near_limit
                                                                        : FootprintVerdict::fits;
}

}  // namespace ramflow::analysis
