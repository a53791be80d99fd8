// Runs the pure analysis of src/analysis/ over each snapshot and keeps the
// learned state between cycles: per process its leak window, allocation speed
// and last verdicts (for the post-mortem once it exits); per worker group its
// peak; per cgroup the scope of its figures, the non-reclaimable history behind
// the time to OOM and the request, and the processes that ended in it.
// Runs on the sampling thread (daemon/cycle.h); not thread-safe.
#pragma once

#include <deque>
#include <map>
#include <optional>
#include <vector>

#include "analysis/allocation_speed.h"
#include "analysis/bucket_series.h"
#include "analysis/forecast.h"
#include "analysis/leak_detector.h"
#include "analysis/recommend.h"
#include "analysis/state.h"
#include "config/config.h"
#include "model/snapshot.h"
#include "model/worker_identity.h"

namespace ramflow::daemon {

class Analyzer {
 public:
  // Processes that ended are remembered per cgroup, the most recent ones.
  static constexpr std::size_t kExitedKept = 20;
  // ... each with its last RSS points and task ends, as a report shows them.
  static constexpr std::size_t kExitedPointsKept = 300;
  static constexpr std::size_t kExitedTasksKept = 50;

  explicit Analyzer(const config::Config& config);

  // Fills the analysis of every process, worker group and cgroup of `snap`;
  // `exited`: the processes gone since the last cycle (what `agents` said of
  // them is kept for the post-mortem); `oom_victim_bytes`: the
  // most memory a recent OOM victim held at death, if any.
  void analyze(model::Snapshot& snap, const std::vector<model::ProcessFacts>& exited, const model::AgentView& agents,
               std::optional<double> oom_victim_bytes);

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
    // Kept for the post-mortem record when the process ends.
    model::ExitedProcess last;
    pid_t group_main = 0;
    bool led_a_group = false;  // a main stays one between its children (recycling, shutdown)
  };
  struct GroupMemo {
    std::uint64_t main_start_ticks = 0;
    double largest_vmhwm = 0;           // of every member, live or exited
    double highest_nonreclaimable = 0;  // sampled sum over its live members
  };
  struct CgroupMemo {
    analysis::NonReclaimableHistory nonreclaimable;
    analysis::BucketSeries nonreclaimable_maxima;  // request: per-bucket peaks
    int shared_cycles = 0;  // consecutive cycles in which other programs held a share
    bool shared = false;    // sticky: the cgroup's peak counter keeps their history
    double largest_vmhwm = 0;
    double highest_nonreclaimable = 0;
    std::deque<model::ExitedProcess> exited;
    // The Celery prefork shape last seen, so the readout stays after the workers end.
    std::optional<analysis::CeleryInputs> celery;
  };

  ProcessMemo new_memo(std::uint64_t start_ticks) const;
  CgroupMemo new_cgroup_memo() const;
  ProcessMemo& memo_for(const model::ProcessView& p);
  // Adds to a bucket series, counting a change of its state as a new generation.
  std::optional<analysis::BucketPoint> add(analysis::BucketSeries& series, double time, double bytes);
  void assign_groups(model::Snapshot& snap);
  void analyze_process(model::ProcessView& p, const model::ProcessView* group_main, double now);
  void remember_exit(const model::ProcessFacts& gone, const model::AgentView& agents, double now);
  void analyze_cgroup(model::CgroupView& c, const model::Snapshot& snap, std::optional<double> oom_victim_bytes);
  void analyze_groups(model::CgroupView& c, const model::Snapshot& snap, double cgroup_highest_nonreclaimable, bool own);

  config::Config config_;
  analysis::LeakConfig leak_config_;
  analysis::ResidualThresholds thresholds_;
  std::map<pid_t, ProcessMemo> processes_;
  std::map<pid_t, GroupMemo> groups_;  // keyed by the main's pid
  std::map<std::string, CgroupMemo> cgroups_;
  // This cycle's worker groups per cgroup path (assign_groups).
  std::map<std::string, std::vector<analysis::WorkerGroupShape>> shapes_;
  model::WorkerIdentities identities_;  // the `worker` of each process, from roles and groups
  std::uint64_t generation_ = 0;
};

}  // namespace ramflow::daemon
