#include "analysis/cow_drift.h"

#include <algorithm>
#include <cstdio>
#include <vector>

#include "analysis/stats.h"
#include "analysis/units.h"

namespace ramflow::analysis {

std::optional<CowDrift> cow_drift(std::span<const CowSample> samples, double high_share_per_hour) {
  if (samples.size() < 3) return std::nullopt;
  std::vector<double> t, shared;
  for (const auto& s : samples) {
    t.push_back(s.time_s);
    shared.push_back(std::max(0.0, s.rss_bytes - s.uss_bytes));
  }
  const auto fit = theil_sen(t, shared);
  if (!fit) return std::nullopt;
  CowDrift d;
  d.bytes_per_second = std::max(0.0, -fit->slope);
  d.shared_at_start_bytes = shared.front();
  d.high = d.shared_at_start_bytes > 0 && d.bytes_per_second * 3600 >= high_share_per_hour * d.shared_at_start_bytes;
  if (d.high) {
    char buf[240];
    std::snprintf(buf, sizeof buf,
                  "shared pages turn private at %.1f MiB/min (of %.0f MiB shared): call gc.freeze() in the main "
                  "process before the pool forks (Celery: in a worker_init handler)",
                  d.bytes_per_second * 60 / kMiB, d.shared_at_start_bytes / kMiB);
    d.hint = buf;
  }
  return d;
}

}  // namespace ramflow::analysis
