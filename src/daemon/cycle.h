// The sampling cycle, one function read top to bottom (run_once):
//
//   collect -> analyse -> OOM forensics -> persist -> publish
//
// collect: kernel and agent facts into a new Snapshot (Sampler); analyse: the
// verdicts of src/analysis over it, with what was learned before (Analyzer);
// OOM forensics: vanished workers, cgroup counters and eBPF events become
// attributed kills (OomForensics); persist: the state file (StateStore);
// publish: the snapshot becomes immutable and readable by scrapes.
//
// run_once() runs on one thread at a time (the app's sampling thread, or a
// test's); latest(), is_watched(), cgroup_of() and on_oom_event() may be called
// from any thread.
//
//   daemon::Cycle cycle(config, agents);
//   cycle.restore_state();
//   every interval: cycle.run_once();
//   at exit:        cycle.flush_state();
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "bpf/oom_watcher.h"
#include "config/config.h"
#include "daemon/analyzer.h"
#include "daemon/capture_book.h"
#include "daemon/oom_forensics.h"
#include "daemon/sampler.h"
#include "daemon/state_store.h"
#include "model/agent_registry.h"
#include "model/snapshot.h"

namespace ramflow::daemon {

class Cycle {
 public:
  Cycle(const config::Config& config, model::AgentRegistry& agents);

  void run_once();
  model::SnapshotPtr latest() const;

  // `ramflowd run`: watch only the processes whose agent connected.
  void set_agent_processes_only(bool only) { sampler_.set_agent_processes_only(only); }
  void set_ebpf_status(bool active, std::string status);
  // `ramflowd run`: also keep the last snapshot in which watched processes
  // were alive, so the final report describes the run, not its aftermath.
  void keep_last_live_snapshot() { keep_live_ = true; }
  model::SnapshotPtr last_live() const;

  // The eBPF watcher's filter and its events (the watcher's thread).
  bool is_watched(pid_t pid) const;
  void on_oom_event(const bpf::OomEvent& event);

  // Allocation-site captures: asked on demand from any thread, started and
  // followed by run_once().
  CaptureBook& captures() { return captures_; }

  // The state file: taken back at start, written at the end (SIGTERM).
  void restore_state();
  void flush_state();

 private:
  void persist(model::Snapshot& snap, bool force);
  void publish(model::SnapshotPtr snap);
  std::optional<std::string> cgroup_of(pid_t pid) const;

  const config::Config config_;
  model::AgentRegistry& agents_;
  Sampler sampler_;
  Analyzer analyzer_;
  OomForensics oom_;
  CaptureBook captures_;
  StateStore state_;
  const std::shared_ptr<const model::Configuration> configuration_;
  bool ebpf_active_ = false;
  std::string ebpf_status_ = "off";
  bool keep_live_ = false;

  mutable std::mutex published_mu_;
  model::SnapshotPtr published_;
  model::SnapshotPtr last_live_;
};

}  // namespace ramflow::daemon
