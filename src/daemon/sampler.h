// The sampling loop: every interval it discovers the Python workers, reads
// their /proc facts and their cgroups, copies what the agents said, and
// publishes one immutable model::Snapshot. Runs on its own thread; latest() never
// blocks on a cycle in progress.
#pragma once

#include <map>
#include <regex>
#include <vector>

#include "config/config.h"
#include "daemon/probe_health.h"
#include "probe/cgroup_route.h"
#include "probe/discovery.h"
#include "probe/proc_file.h"
#include "probe/proc_status.h"
#include "model/snapshot.h"
#include "model/agent_registry.h"
#include "model/cgroup_table.h"
#include "model/process_table.h"

namespace ramflow::daemon {

class Sampler {
 public:
  Sampler(const config::Config& config);

  // `ramflowd run`: watch only processes whose agent connected (the child's tree),
  // not every process the regex matches on the machine.
  void set_agent_processes_only(bool only) { agent_only_ = only; }
  // Fills `snap` with this cycle's kernel and agent facts; returns the
  // processes that exited since the last cycle.
  std::vector<model::ProcessFacts> collect(model::Snapshot& snap, const model::AgentView& agents);
  bool watches(pid_t pid) const { return processes_.processes().count(pid) > 0; }

 private:
  std::vector<model::Candidate> candidates(const model::AgentView& agents);
  // False when the process exited.
  bool read_process(model::ProcessFacts& p, double now);
  std::string resolve_cgroup(pid_t pid);
  void note_location(probe::CgroupLocation location);
  probe::Result<probe::CgroupMemory> read_located(const probe::CgroupLocation& location,
                                                  const std::vector<pid_t>& users);
  probe::Result<probe::ProcStatus> read_status(const model::ProcessFacts& p);
  bool is_alive(const model::ProcessFacts& p) const;
  void close_status_files_of_the_gone();
  void read_cgroups(model::Snapshot& snap, double now);
  void check_declared_limit(const probe::CgroupMemory& reading);

  const config::Config config_;
  probe::ProcessScanner scanner_;
  probe::CgroupVersion version_;
  model::ProcessTable processes_;
  // /proc/PID/status of each watched process, kept open (probe/proc_file.h).
  std::map<std::pair<pid_t, std::uint64_t>, probe::ProcFile> status_files_;
  model::CgroupTable cgroups_;
  // How each worker cgroup (by path) is reached, or why it cannot be (probe/cgroup_route.h).
  std::map<std::string, probe::CgroupLocation> locations_;
  bool limit_mismatch_logged_ = false;
  ProbeHealth health_;
  bool agent_only_ = false;
  double boot_time_ = 0;
  std::uint64_t cycles_ = 0;
};

}  // namespace ramflow::daemon
