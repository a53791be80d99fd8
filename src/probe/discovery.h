// Process discovery: which processes in proc_root are Python workers, and how
// they form prefork trees (a Celery main and its children).
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <regex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "probe/result.h"

namespace ramflow::probe {

struct DiscoveredProcess {
  pid_t pid = 0;
  pid_t ppid = 0;
  std::uint64_t start_time_ticks = 0;  // with pid, identifies the process across pid reuse
  std::string comm;
  std::vector<std::string> cmdline;
  // child: its parent matched; main: not a child and has matched children; else standalone.
  enum class Role { kMain, kChild, kStandalone } role = Role::kStandalone;
};

std::string_view to_string(DiscoveredProcess::Role role);  // "main", "child", "standalone"

struct DiscoveryResult {
  std::vector<DiscoveredProcess> processes;  // mains first, then by start time, then pid
  std::size_t matched_total = 0;             // before the cap
  std::vector<ReadError> errors;             // unreadable entries (exits are not errors)
};

// Scans proc_root once. `match` is searched (std::regex_search) in comm and in the
// cmdline joined by spaces. Skips self_pid (see self_pid()), kernel threads and
// zombies. Keeps at most max_processes, by the stable order above, so the kept
// set does not churn between scans.
DiscoveryResult discover_processes(const std::string& proc_root, const std::regex& match,
                                   std::size_t max_processes, pid_t self_pid);

// The same scan, repeated: it remembers each process's verdict by (pid, start
// time, comm), so a process already seen costs one read of /proc/PID/stat
// (none once trusted, see kTrustAfter) instead of stat + cmdline + two regex searches (each procfs read costs tens
// of µs on a VM). exec changes comm, so a process seen between fork and exec is
// judged again after it. Memory: one entry per pid of the last scan.
// Not thread-safe: one scanner per sampler thread.
class ProcessScanner {
 public:
  // A process keeps its pid and /proc inode across exec (a shell wrapper
  // exec'ing celery), so a verdict — worker or not — is trusted without
  // reading only once it held for a few scans, and is re-read (with the ppid,
  // which changes when a parent dies) every kRecheckEvery scans.
  static constexpr int kTrustAfter = 3;
  static constexpr unsigned kRecheckEvery = 30;
  ProcessScanner(std::string proc_root, std::regex match, std::size_t max_processes, pid_t self_pid);
  DiscoveryResult scan();

 private:
  struct Verdict {
    std::uint64_t inode;  // of /proc/PID, from readdir
    std::uint64_t start_time_ticks;
    std::string comm;
    bool matched;
    std::vector<std::string> cmdline;  // kept only when matched
    int confirmations = 0;             // full reads in a row that gave this verdict
    pid_t ppid = 0;                    // as of the last full read
  };
  unsigned scans_ = 0;

  std::string proc_root_;
  std::regex match_;
  std::size_t max_processes_;
  pid_t self_pid_;
  std::unordered_map<pid_t, Verdict> seen_;
};

}  // namespace ramflow::probe
