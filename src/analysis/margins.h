#pragma once
// How far the pod is from the kubelet's eviction and from the OOM killer
// (DESIGN.md "working set", "non-reclaimable", "limit", "safety margin",
// "footprint"), and the OOM-risk verdict. Page cache alone never raises it.

#include <optional>
#include <string>
#include <string_view>

#include "analysis/thresholds.h"

namespace ramflow::analysis {

// cgroup usage - inactive_file, clamped at 0 (cAdvisor's and the kubelet's).
double working_set_bytes(double usage_bytes, double inactive_file_bytes);
// anon + shmem + unevictable: what the kernel cannot drop before an OOM kill.
double nonreclaimable_bytes(double anon_bytes, double shmem_bytes, double unevictable_bytes);

enum class LimitSource { cgroup, host };
std::string_view to_string(LimitSource source);

struct MemorySnapshot {
  std::optional<double> cgroup_limit_bytes = std::nullopt;  // nullopt = unlimited ("max" or near 2^63)
  double working_set_bytes = 0;
  double nonreclaimable_bytes = 0;
  double mem_total_bytes = 0;      // /proc/meminfo, for the host fallback
  double mem_available_bytes = 0;
};

struct Margins {
  double limit_bytes = 0;
  LimitSource source = LimitSource::cgroup;
  double safety = 0;           // max(0, (limit - working set) / limit)
  double nonreclaimable = 0;   // max(0, (limit - non-reclaimable) / limit)
};

// With no cgroup limit the host is the limit: MemTotal, and both margins are
// MemAvailable / MemTotal. A zero limit gives margins of 0.
Margins margins(const MemorySnapshot& snapshot);

// PSI memory, avg10 as a ratio (avg10 / 100).
struct Pressure {
  double some = 0;
  double full = 0;
};

struct OomRiskConfig {
  double margin_threshold = thresholds::kOomRiskNonreclaimableMargin;  // a margin under this is low
  double pressure_some = thresholds::kOomRiskPressureSome;  // real pressure: some avg10 >= 40 % ...
  double pressure_full = thresholds::kOomRiskPressure;      // ... or full avg10 >= 10 %
};

struct OomRisk {
  bool at_risk = false;
  bool real_pressure = false;
  std::string reason;
};

// At risk when the non-reclaimable margin is low, or when the working-set
// margin is low *and* PSI shows real pressure. A low working-set margin with
// no pressure is page cache the kernel will drop: no risk.
OomRisk oom_risk(const Margins& margins, std::optional<Pressure> pressure, const OomRiskConfig& config = {});

struct Footprint {
  double bytes = 0;
  bool sampled = false;  // true: highest sampled working set (no kernel peak counter)
};

// Pod footprint: the cgroup's peak counter where present, else the highest
// sampled working set.
Footprint pod_footprint(std::optional<double> cgroup_peak_bytes, double max_sampled_working_set_bytes);

}  // namespace ramflow::analysis
