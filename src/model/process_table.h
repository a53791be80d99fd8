// Kernel facts of every watched worker process, owned by the sampling thread.
// reconcile() adds new processes, notices pid reuse by start time, and hands
// back the processes that vanished so their series are dropped in the same
// interval and the OOM tracker can look at them.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

#include "model/ring_buffer.h"
#include "probe/discovery.h"
#include "probe/proc_status.h"
#include "probe/smaps_rollup.h"

namespace ramflow::model {

struct RssSample {
  double time = 0;
  std::uint64_t rss = 0;
};

struct SmapsSample {
  double time = 0;
  std::uint64_t pss = 0;
  std::uint64_t uss = 0;
  std::uint64_t rss = 0;
};

struct ProcessFacts {
  pid_t pid = 0;
  pid_t ppid = 0;
  std::uint64_t start_ticks = 0;
  double start_time = 0;  // unix seconds
  std::string comm;
  std::vector<std::string> cmdline;
  bool via_agent_only = false;  // not matched by the regex; watched because its agent connected
  std::string cgroup;           // memory cgroup path relative to the root
  double cgroup_resolved = 0;   // when /proc/PID/cgroup was last read
  double first_seen = 0;

  std::optional<probe::ProcStatus> status;
  std::optional<probe::SmapsRollup> smaps;
  double smaps_time = 0;
  std::string smaps_skipped;  // why PSS/USS are missing, if they are

  std::optional<std::uint64_t> early_rss;  // sampled within 1 s of start: bootstrap fallback
  std::uint64_t max_sampled_rss = 0;
  RingBuffer<RssSample> timeline{600};
  RingBuffer<SmapsSample> smaps_history{120};
};

struct Candidate {
  probe::DiscoveredProcess process;
  bool via_agent_only = false;
};

class ProcessTable {
 public:
  ProcessTable() = default;

  // Makes the table hold exactly `candidates`; returns the processes that left.
  std::vector<ProcessFacts> reconcile(const std::vector<Candidate>& candidates, double now);
  ProcessFacts* find(pid_t pid);
  std::map<pid_t, ProcessFacts>& processes() { return processes_; }
  const std::map<pid_t, ProcessFacts>& processes() const { return processes_; }

 private:
  std::map<pid_t, ProcessFacts> processes_;
};

}  // namespace ramflow::model
