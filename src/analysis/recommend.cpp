#include "analysis/recommend.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <stdexcept>
#include <vector>

#include "analysis/stats.h"
#include "analysis/units.h"

namespace ramflow::analysis {
namespace {

std::string printf_string(const char* format, auto... args) {
  char buf[320];
  std::snprintf(buf, sizeof buf, format, args...);
  return buf;
}

std::string mib(double bytes) { return printf_string("%.1f MiB", bytes / kMiB); }

}  // namespace

double round_up_to_mib(double bytes) { return std::ceil(bytes / kMiB) * kMiB; }

std::string format_quantity(double bytes) {
  const auto b = static_cast<std::int64_t>(std::ceil(bytes));
  const auto gi = static_cast<std::int64_t>(kGiB), mi = static_cast<std::int64_t>(kMiB),
             ki = static_cast<std::int64_t>(kKiB);
  if (b > 0 && b % gi == 0) return std::to_string(b / gi) + "Gi";
  if (b > 0 && b % mi == 0) return std::to_string(b / mi) + "Mi";
  if (b > 0 && b % ki == 0) return std::to_string(b / ki) + "Ki";
  return std::to_string(b);
}

Recommendation recommend_limit(const LimitInputs& in) {
  if (!(in.headroom >= 0) || !(in.pod_peak_bytes >= 0) || !(in.restart_horizon_s >= 0)) {
    throw std::invalid_argument("limit recommendation needs a peak, headroom and restart horizon >= 0 (headroom 0.2 = 20 %)");
  }
  const double factor = 1 + in.headroom;
  double wanted = in.pod_peak_bytes * factor;
  std::string reason = printf_string("peak %s + %.0f %% headroom", mib(in.pod_peak_bytes).c_str(), 100 * in.headroom);
  if (in.leak_rate_bytes_per_s && *in.leak_rate_bytes_per_s > 0) {
    const double allowance = *in.leak_rate_bytes_per_s * in.restart_horizon_s;
    wanted += allowance;
    reason += printf_string(" + leak %s over the %.0f h restart horizon", mib(allowance).c_str(), in.restart_horizon_s / 3600);
  }
  if (in.oom_victim_bytes && *in.oom_victim_bytes * factor > wanted) {
    wanted = *in.oom_victim_bytes * factor;
    reason = printf_string("an OOM-killed process held %s at death; + %.0f %% headroom", mib(*in.oom_victim_bytes).c_str(),
                           100 * in.headroom);
  }
  return {round_up_to_mib(wanted), reason + ", rounded up to a whole Mi"};
}

Recommendation recommend_request(std::span<const double> bucket_peaks) {
  const double p90 = percentile(bucket_peaks, 0.90);
  return {round_up_to_mib(p90 * 1.15),
          printf_string("p90 of %zu per-bucket peaks (%s) x 1.15, as the Vertical Pod Autoscaler does", bucket_peaks.size(),
                        mib(p90).c_str())};
}

CeleryRecommendation recommend_celery_max_memory_per_child(const CeleryInputs& in) {
  if (in.concurrency < 1) {
    throw std::invalid_argument("Celery concurrency must be at least 1: pass the worker's --concurrency");
  }
  CeleryRecommendation r;
  const double budget = std::max(0.0, (in.limit_bytes - in.main_rss_bytes) / in.concurrency);
  r.kib = static_cast<std::int64_t>(std::floor(budget / kKiB));
  r.bytes = static_cast<double>(r.kib) * kKiB;
  r.reason = printf_string("(limit %s - main %s) / %d children = %lld KiB per child", mib(in.limit_bytes).c_str(),
                           mib(in.main_rss_bytes).c_str(), in.concurrency, static_cast<long long>(r.kib));
  const bool budget_trap = in.child_baseline_bytes >= r.bytes;
  const bool configured_trap = in.configured_kib && in.child_baseline_bytes >= static_cast<double>(*in.configured_kib) * kKiB;
  r.trap = budget_trap || configured_trap;
  if (r.trap) {
    const double value = configured_trap ? static_cast<double>(*in.configured_kib) * kKiB : r.bytes;
    r.trap_reason = printf_string(
        "a fresh child already uses %s, at or over worker_max_memory_per_child = %lld KiB: every child would be "
        "recycled after its first task; raise the limit or lower the concurrency",
        mib(in.child_baseline_bytes).c_str(), static_cast<long long>(value / kKiB));
  }
  return r;
}

}  // namespace ramflow::analysis
