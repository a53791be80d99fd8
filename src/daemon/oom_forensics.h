// Turns the sampler's view of vanished workers, the cgroup oom_kill counters
// and eBPF victim events into OOM records (model::OomTracker), logs each kill
// once as a structured line, and keeps the bounded counters behind
// ramflow_oom_kills_total{cgroup,task,source}. eBPF events arrive on the
// watcher's thread (add_kill); everything else runs on the sampler thread.
#pragma once

#include <map>
#include <mutex>
#include <set>
#include <string_view>
#include <tuple>
#include <vector>

#include "bpf/oom_watcher.h"
#include "model/snapshot.h"
#include "model/oom_tracker.h"

namespace ramflow::daemon {

class OomForensics {
 public:
  void add_kill(model::OomKillEvent event);  // thread-safe
  // An eBPF victim event (bpf/oom_watcher.h) of a process watched in `cgroup`; thread-safe.
  void add_kill(const bpf::OomEvent& event, std::string cgroup);
  // Settles this interval; fills snap.oom_kills and snap.oom_counts.
  void update(model::Snapshot& snap, const std::vector<model::ProcessFacts>& vanished, const model::AgentView& agents);
  // Most memory a victim held at death among the kept records, for the limit floor.
  std::optional<double> largest_victim_bytes() const;
  // History and last counter readings for the state file, and back.
  std::string save_state() const;
  bool restore(std::string_view json, std::string* error);

 private:
  void count(const model::OomRecord& r, const std::set<std::string>& admitted_tasks);

  std::mutex kills_mu_;
  std::vector<model::OomKillEvent> pending_kills_;
  model::OomTracker tracker_;
  std::map<std::tuple<std::string, std::string, std::string>, std::uint64_t> counts_;
  struct LastVerdict {
    std::optional<std::int64_t> residual;
    std::string leak_level;
  };
  std::map<pid_t, LastVerdict> last_verdicts_;
  static constexpr std::size_t kMaxTaskLabels = 50;
  std::set<std::string> task_labels_;
};

}  // namespace ramflow::daemon
