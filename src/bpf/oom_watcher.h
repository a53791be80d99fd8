// The eBPF OOM watcher: reports every process the kernel's OOM killer picks,
// with the victim's pid as this process sees it (its own pid namespace).
//
//   std::string why_not;
//   auto watcher = ramflow::bpf::OomWatcher::start(options, &why_not);
//   if (!watcher) log("eBPF OOM watcher unavailable: " + why_not);
//   ...
//   watcher->stop();  // or let it go out of scope
//
// The callback runs on the watcher's own thread; it must not block for long.
// start() never throws for a missing feature: it returns nullptr and one line
// naming the cause (built without eBPF, no BTF, missing capability, libbpf error).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace ramflow::bpf {

struct OomEvent {
  pid_t pid = 0;       // tgid in the watcher's pid namespace; 0 if not visible from it
  pid_t host_pid = 0;  // tgid in the initial pid namespace
  pid_t ns_pid = 0;    // tgid in the victim's own (innermost) pid namespace
  uint32_t uid = 0;
  std::string comm;
  uint64_t start_time_ns = 0;  // since boot, the clock of /proc/PID/stat starttime
  uint64_t cgroup_id = 0;      // memory cgroup id == inode of its directory
  std::string cgroup_dir;      // the victim's memory cgroup directory, if under a watched one
  std::string watched_cgroup;  // the entry of Options::cgroup_dirs that contains it
  uint64_t total_vm_bytes = 0;
  uint64_t anon_rss_bytes = 0;
  uint64_t file_rss_bytes = 0;
  uint64_t shmem_rss_bytes = 0;
  double time = 0;  // wall-clock seconds (Unix epoch) when the event was read

  uint64_t rss_bytes() const { return anon_rss_bytes + file_rss_bytes + shmem_rss_bytes; }
};

struct Options {
  // Watched memory cgroup directories (absolute paths, e.g.
  // /sys/fs/cgroup/memory/kubepods/pod1/ctr); a victim in one of them or below
  // is reported. With both filters empty every victim on the host is reported.
  std::vector<std::string> cgroup_dirs;
  // Watched processes by pid (in the watcher's namespace); either filter matching is enough.
  std::function<bool(pid_t)> is_watched_pid;
  std::function<void(const OomEvent&)> on_event;
  // libbpf's messages (all levels) go here instead of stderr; nullptr drops them.
  std::function<void(std::string_view)> on_debug_log;
  // Path of the kernel BTF checked before loading (tests point it elsewhere).
  std::string btf_path = "/sys/kernel/btf/vmlinux";
  bool fail_load_for_test = false;
};

class OomWatcher {
 public:
  // The name of the polling thread (/proc/PID/task/TID/comm).
  static constexpr const char* kThreadName = "rf-oom-watch";

  static std::unique_ptr<OomWatcher> start(const Options& options, std::string* why_not);
  // True when this binary was built with the BPF program (RAMFLOW_WITH_BPF).
  static bool built_with_bpf();

  ~OomWatcher();
  OomWatcher(const OomWatcher&) = delete;
  OomWatcher& operator=(const OomWatcher&) = delete;

  // Stops polling and detaches the program; idempotent; events the kernel had
  // queued are delivered first. Not from the callback (it would wait for itself).
  void stop();
  // Victims outside the watched cgroups/processes, ignored so far (kept after stop()).
  uint64_t events_dropped_by_filter() const;

  struct Impl;

 private:
  explicit OomWatcher(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  uint64_t dropped_after_stop_ = 0;
};

}  // namespace ramflow::bpf
