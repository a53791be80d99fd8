// Runs the pure analysis of src/analysis/ over each snapshot and keeps the
// learned state between cycles: per-process leak windows and allocation
// speed, per-cgroup bucket series for time to OOM and the request. Runs on
// the sampler thread (the Sampler's enricher); not thread-safe.
#pragma once

#include <map>
#include <vector>

#include "analysis/allocation_speed.h"
#include "analysis/bucket_series.h"
#include "analysis/leak_detector.h"
#include "analysis/state.h"
#include "config/config.h"
#include "model/snapshot.h"

namespace ramflow::daemon {

class Analyzer {
 public:
  explicit Analyzer(const config::Config& config);

  // Fills the analysis of every process and cgroup of `snap`; `oom_victim_bytes`
  // is the most memory a recent OOM victim held at death, if any.
  void analyze(model::Snapshot& snap, std::optional<double> oom_victim_bytes);

  // What was learned, for the state file; restore() takes it back after a
  // restart (entries whose process or cgroup is gone are dropped on the next
  // cycle). `now` starts the wait for agents to reconnect.
  analysis::AnalysisState save_state() const;
  void restore(const analysis::AnalysisState& state, double now);
  // Changes whenever the learned state does: the state file is rewritten only then.
  std::uint64_t generation() const { return generation_; }

 private:
  struct ProcessMemo {
    std::uint64_t start_ticks = 0;
    analysis::LeakDetector leak;
    std::size_t task_ends_consumed = 0;
    double x_base = 0;  // residual sample x = x_base + the agent's task-end sequence number
    double ready_time = 0;
    double max_rss_since_ready = 0;
    analysis::AllocationSpeed speed;
    analysis::BucketSeries rss_minima;
    double last_seen = 0;
    std::string leak_series;  // which series feeds `leak`: "residual" or "rss_bucket_minimum"
    double agent_grace_until = 0;  // restored with an agent: wait this long for it to reconnect
  };
  struct CgroupMemo {
    analysis::BucketSeries nonreclaimable_minima;
    analysis::BucketSeries working_set_maxima;
  };

  ProcessMemo new_memo(std::uint64_t start_ticks) const;
  CgroupMemo new_cgroup_memo() const;
  ProcessMemo& memo_for(const model::ProcessView& p);
  // Adds to a bucket series, counting a change of its state as a new generation.
  std::optional<analysis::BucketPoint> add(analysis::BucketSeries& series, double time, double bytes);
  void analyze_process(model::ProcessView& p, const std::map<pid_t, const model::ProcessView*>& by_pid, double now);
  void analyze_cgroup(model::CgroupView& c, const model::Snapshot& snap, std::optional<double> oom_victim_bytes);

  config::Config config_;
  analysis::LeakConfig leak_config_;
  analysis::ResidualThresholds thresholds_;
  std::map<pid_t, ProcessMemo> processes_;
  std::map<std::string, CgroupMemo> cgroups_;
  std::uint64_t generation_ = 0;
};

}  // namespace ramflow::daemon
