// OOM kill attribution: turns three late, unordered signals of one kill — an
// eBPF victim event, a cgroup oom_kill counter rise, a watched worker that
// vanished — into exactly one OomRecord, naming the task the worker was running.
//
//   OomTracker tracker;
//   for each sampling interval:
//     for (const OomRecord& r : tracker.update(interval)) export(r);
//
// Pure: no I/O, time comes in the input. Not thread-safe (one sampler thread).
// The rules are spelled out in docs/oom.md.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ramflow::model {

struct OomRecord {
  double time = 0;  // seconds (Unix epoch): the kill, or when its counter rise was seen
  pid_t pid = 0;    // as the sidecar sees it; 0 when the victim is not known
  std::string comm;
  std::string cgroup;
  std::string task;    // "unknown" if none
  std::string source;  // "ebpf" | "inferred"
  uint64_t rss_at_death = 0;  // bytes
  std::optional<int64_t> last_residual;
  std::string leak_level;  // "unknown" if never evaluated
  // The allocation-site capture of the victim before its death, if any: set on
  // each snapshot by the daemon's capture book (which keeps the link), not saved here.
  std::string capture_id;
};

// One cgroup's memory.events / memory.oom_control oom_kill reading.
struct CgroupOomCounter {
  std::string cgroup;  // path label
  uint64_t oom_kill = 0;
  // The cgroup is gone; oom_kill is then the last value read before it vanished.
  bool vanished = false;
};

// A watched process that disappeared since the previous interval.
struct VanishedWorker {
  pid_t pid = 0;
  uint64_t start_time = 0;  // /proc/PID/stat starttime (clock ticks); 0 if unknown
  std::string comm;
  std::string cgroup;
  uint64_t last_rss = 0;  // bytes
  std::string task;       // the task the agent said it was running, or empty
  std::optional<int64_t> last_residual;
  std::string leak_level;
};

// An OOM victim reported by the eBPF watcher.
struct OomKillEvent {
  double time = 0;
  pid_t pid = 0;            // in the sidecar's pid namespace
  uint64_t start_time = 0;  // clock ticks, as VanishedWorker::start_time; 0 if unknown
  std::string comm;
  std::string cgroup;  // label of the watched cgroup holding the victim; "" if unknown
  uint64_t rss_bytes = 0;  // anon + file + shmem at the kill
};

struct OomInterval {
  double time = 0;
  std::vector<CgroupOomCounter> counters;
  std::vector<VanishedWorker> vanished;
  std::vector<OomKillEvent> kills;
  bool ebpf_active = false;  // when false no eBPF event is waited for
};

struct OomTrackerConfig {
  // How many intervals apart the signals of one kill may be seen.
  int match_intervals = 3;
  size_t history_size = 100;
  size_t task_label_max = 128;  // bytes, cut on a UTF-8 boundary
};

class OomTracker {
 public:
  explicit OomTracker(OomTrackerConfig config = {});

  // Feeds one sampling interval; returns the kills settled by it (each kill once).
  std::vector<OomRecord> update(const OomInterval& interval);

  // The last history_size records, oldest first.
  const std::deque<OomRecord>& history() const { return history_; }

  // State kept across restarts: history and the last counter readings.
  std::string to_json() const;
  // Replaces the state with a to_json() document; false (state untouched) with *error set if invalid.
  bool restore(std::string_view json, std::string* error);

 private:
  struct PendingWorker {
    VanishedWorker worker;
    long tick;
    bool consumed = false;
  };
  struct PendingKill {
    OomKillEvent event;
    long tick;
    std::optional<VanishedWorker> worker;
    bool emitted = false;
    bool claimed = false;  // paired with a counter rise
  };
  struct UnexplainedKill {  // one unit of a counter rise not yet paired
    std::string cgroup;
    double time;
    long tick;
  };
  struct Rise {
    long tick;
    uint64_t count;
  };

  void read_counters(const OomInterval& in);
  void match_kills_to_workers();
  void claim_counter_rises();
  void emit_kills(std::vector<OomRecord>& out);
  void infer_unexplained(const OomInterval& in, std::vector<OomRecord>& out);
  void expire();
  OomRecord from_worker(const VanishedWorker& w, double time, std::string source) const;
  std::string task_label(const std::string& task) const;
  long age(long tick) const { return tick_ - tick; }

  OomTrackerConfig config_;
  long tick_ = 0;
  std::map<std::string, uint64_t> last_counter_;
  std::map<std::string, std::deque<Rise>> recent_rises_;
  std::vector<PendingWorker> workers_;
  std::vector<PendingKill> kills_;
  std::deque<UnexplainedKill> unexplained_;
  std::deque<OomRecord> history_;
};

}  // namespace ramflow::model
