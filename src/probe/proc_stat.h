// /proc/PID/stat, /proc/PID/cmdline, the pid list and uptime: what discovery needs.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "probe/result.h"

namespace ramflow::probe {

struct ProcStat {
  pid_t pid = 0;
  std::string comm;  // may contain spaces and ')'
  char state = '?';
  pid_t ppid = 0;
  std::uint32_t flags = 0;  // PF_* (field 9)
  std::uint64_t utime_ticks = 0;
  std::uint64_t stime_ticks = 0;
  std::uint64_t start_time_ticks = 0;  // since boot, in clock_ticks_per_second() units

  bool is_kernel_thread() const;
};

Result<ProcStat> read_proc_stat(const std::string& proc_root, pid_t pid);
// The same parser on an explicit file (e.g. "<proc_root>/self/stat").
Result<ProcStat> read_proc_stat_file(const std::string& path);

// Arguments as the process set them; only the first 4 KiB are read.
// Kernel threads and zombies have an empty cmdline (not an error).
inline constexpr std::size_t kMaxCmdlineBytes = 4096;
Result<std::vector<std::string>> read_cmdline(const std::string& proc_root, pid_t pid);

// Numeric entries of proc_root, ascending.
Result<std::vector<pid_t>> list_pids(const std::string& proc_root);

// A /proc/PID entry with the inode number readdir gave for it: a new process
// on a reused pid gets a new inode, so an unchanged inode lets a scan skip
// re-reading a process it has already judged.
struct PidEntry {
  pid_t pid = 0;
  std::uint64_t inode = 0;
};
Result<std::vector<PidEntry>> list_pid_entries(const std::string& proc_root);

// First field of <proc_root>/uptime.
Result<double> read_uptime_seconds(const std::string& proc_root);

// USER_HZ, the unit of start_time_ticks/utime/stime (sysconf(_SC_CLK_TCK)).
long clock_ticks_per_second();

}  // namespace ramflow::probe
