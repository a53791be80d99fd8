#pragma once
// How far the pod is from the kubelet's eviction and from the OOM killer
// (DESIGN.md "working set", "non-reclaimable", "limit", "safety margin",
// "footprint"), and the OOM-risk verdict. Page cache alone never raises it.

#include <optional>
#include <string>
#include <string_view>

#include "thresholds/thresholds.h"

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
  double margin_threshold = thresholds::kOomRiskNonreclaimableMargin;  // a margin under this is low (--oom-risk-margin)
  double pressure_some = thresholds::kOomRiskPressureSome;  // real pressure: some avg10 at or over ...
  double pressure_full = thresholds::kOomRiskPressure;      // ... or full avg10 at or over
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

// The safety-margin card: critical when at OOM risk or the non-reclaimable
// margin is under the OOM-risk margin, tight under thresholds::kMarginTight,
// else healthy. Page cache alone never makes it worse than healthy.
enum class MarginVerdict { healthy, tight, critical };
std::string_view to_string(MarginVerdict verdict);
MarginVerdict margin_verdict(const Margins& margins, const OomRisk& risk, const OomRiskConfig& config = {});

// A worker group's footprint (docs/analysis.md "footprint"): the most memory
// it held that the kernel could not reclaim — the larger of its largest
// member's VmHWM (a kernel counter: no spike is missed) and the highest
// sampled non-reclaimable memory of the group (several members at once). The
// cgroup's own peak counter counts page cache and is shown beside it, never
// used for it.
struct Footprint {
  double bytes = 0;
  std::string source;  // "vmhwm" (a member's kernel peak) or "sampled_nonreclaimable"
};
Footprint group_footprint(double largest_member_vmhwm_bytes, double highest_sampled_nonreclaimable_bytes);

// The footprint card: near_limit at or over thresholds::kNearLimit of the limit.
enum class FootprintVerdict { fits, near_limit };
std::string_view to_string(FootprintVerdict verdict);
FootprintVerdict footprint_verdict(double footprint_bytes, double limit_bytes);

}  // namespace ramflow::analysis
