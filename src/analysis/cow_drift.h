#pragma once
// Copy-on-write drift of a prefork child: how fast the pages it shares with
// the main process turn private (reference counts and the GC write to every
// object they touch). High drift -> call gc.freeze() in the main before forking.

#include <optional>
#include <span>
#include <string>

namespace ramflow::analysis {

struct CowSample {
  double time_s = 0;
  double rss_bytes = 0;  // /proc/PID/smaps_rollup Rss
  double uss_bytes = 0;  // Private_Clean + Private_Dirty
};

struct CowDrift {
  double bytes_per_second = 0;  // shared (RSS - USS) shrinking, Theil–Sen over time, clamped at 0
  double shared_at_start_bytes = 0;
  bool high = false;
  std::string hint;  // set when high
};

// High when, at this rate, at least `high_share_per_hour` of the pages shared
// at the first sample would turn private within an hour (default 25 %).
// std::nullopt with fewer than 3 samples or no time span.
std::optional<CowDrift> cow_drift(std::span<const CowSample> samples, double high_share_per_hour = 0.25);

}  // namespace ramflow::analysis
