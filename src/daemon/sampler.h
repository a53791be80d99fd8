// The sampling loop: every interval it discovers the Python workers, reads
// their /proc facts and their cgroups, copies what the agents said, and
// publishes one immutable model::Snapshot. Runs on its own thread; latest() never
// blocks on a cycle in progress.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <regex>
#include <thread>

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
  // Called on the sampler thread after facts are gathered, before publishing:
  // the place where analysis and OOM tracking add to the snapshot.
  using Enricher = std::function<void(model::Snapshot&, const std::vector<model::ProcessFacts>& vanished,
                                      const model::AgentView& agents)>;

  Sampler(const config::Config& config, model::AgentRegistry& agents);
  ~Sampler();

  void set_enricher(Enricher enricher) { enricher_ = std::move(enricher); }
  void set_ebpf_status(bool active, std::string status);
  // `ramflowd run`: watch only processes whose agent connected (the child's tree),
  // not every process the regex matches on the machine.
  void set_agent_processes_only(bool only) { agent_only_ = only; }
  void start();
  void stop();
  // One cycle on the caller's thread (tests, `ramflowd run`'s final sample).
  void cycle_once();
  model::SnapshotPtr latest() const;
  bool ready() const { return latest() != nullptr; }

 private:
  void loop();
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
  void publish(std::shared_ptr<model::Snapshot> snap);

  const config::Config config_;
  model::AgentRegistry& agents_;
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
  Enricher enricher_;
  bool ebpf_active_ = false;
  bool agent_only_ = false;
  std::string ebpf_status_ = "off";
  double boot_time_ = 0;
  std::uint64_t cycles_ = 0;

  mutable std::mutex published_mu_;
  model::SnapshotPtr published_;

  std::mutex wake_mu_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace ramflow::daemon
