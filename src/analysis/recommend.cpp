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
  char buf[400];
  std::snprintf(buf, sizeof buf, format, args...);
  return buf;
}

std::string mib(double bytes) { return printf_string("%.1f MiB", bytes / kMiB); }

std::string duration(double seconds) {
  if (seconds < 120) return printf_string("%.0f s", seconds);
  if (seconds < 2 * 3600) return printf_string("%.0f min", seconds / 60);
  return printf_string("%.1f h", seconds / 3600);
}

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

LimitRecommendation recommend_limit(const LimitInputs& in) {
  if (!(in.headroom >= 0) || !(in.peak_bytes >= 0) || !(in.restart_horizon_s >= 0)) {
    throw std::invalid_argument("limit recommendation needs a peak, headroom and restart horizon >= 0 (headroom 0.2 = 20 %)");
  }
  const double factor = 1 + in.headroom;
  LimitRecommendation r;
  double wanted = in.peak_bytes * factor;
  r.reason = printf_string("group peak %s + %.0f %% headroom", mib(in.peak_bytes).c_str(), 100 * in.headroom);
  if (in.leak && in.leak->level == LeakLevel::high) {
    r.recycle_instead = true;
    r.reason += "; no allowance for the high leak: a bigger limit only delays the OOM kill — fix it or recycle workers";
  } else if (in.leak && in.leak->rate_bytes_per_s > 0) {
    const double span = std::min(in.restart_horizon_s, std::max(0.0, in.leak->observed_span_s));
    r.leak_allowance_bytes = in.leak->rate_bytes_per_s * span;
    wanted += r.leak_allowance_bytes;
    r.reason += printf_string(" + %s for the medium leak (its rate over the %s observed%s)",
                              mib(r.leak_allowance_bytes).c_str(), duration(span).c_str(),
                              span < in.restart_horizon_s ? ", not extrapolated further" : ", the restart horizon");
  }
  if (in.oom_victim_bytes && *in.oom_victim_bytes * factor > wanted) {
    wanted = *in.oom_victim_bytes * factor;
    r.reason = printf_string("an OOM-killed process held %s at death; + %.0f %% headroom", mib(*in.oom_victim_bytes).c_str(),
                             100 * in.headroom) +
               (r.recycle_instead ? "; and the leak is high: fix it or recycle workers" : "");
  }
  r.bytes = round_up_to_mib(wanted);
  r.reason += ", rounded up to a whole Mi";
  if (in.node_memory_bytes && r.bytes > *in.node_memory_bytes) {
    r.above_node_memory = true;
    r.reason += printf_string(" — above this node's %s of memory: no pod of this size fits here", mib(*in.node_memory_bytes).c_str());
  }
  return r;
}

Recommendation recommend_request(std::span<const double> bucket_peaks, double limit_bytes) {
  const double q = percentile(bucket_peaks, thresholds::kRequestQuantile);
  const double wanted = round_up_to_mib(q * thresholds::kRequestFactor);
  Recommendation r{wanted, printf_string("p%.0f of %zu per-bucket peaks (%s) x %.2f, as the Vertical Pod Autoscaler does",
                                         100 * thresholds::kRequestQuantile, bucket_peaks.size(), mib(q).c_str(),
                                         thresholds::kRequestFactor)};
  if (wanted > limit_bytes) {
    r.bytes = limit_bytes;
    r.reason += printf_string("; %s is above the recommended limit, so the request equals the limit", mib(wanted).c_str());
  }
  return r;
}

CeleryRecommendation recommend_celery(const CeleryInputs& in) {
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
  if (in.child_growth_bytes_per_task && *in.child_growth_bytes_per_task > 0 && !r.trap) {
    const double room = r.bytes - in.child_baseline_bytes;
    r.max_tasks_per_child = std::max<std::int64_t>(1, static_cast<std::int64_t>(std::floor(room / *in.child_growth_bytes_per_task)));
    r.max_tasks_reason = printf_string("a child grows %s per task from %s: after %lld tasks it reaches its %s budget",
                                       mib(*in.child_growth_bytes_per_task).c_str(), mib(in.child_baseline_bytes).c_str(),
                                       static_cast<long long>(*r.max_tasks_per_child), mib(r.bytes).c_str());
  }
  return r;
}

}  // namespace ramflow::analysis
