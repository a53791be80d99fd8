// /proc/PID/status: the per-process memory counters read every interval.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

#include "probe/result.h"

namespace ramflow::probe {

// Sizes in bytes. Kernel threads have no Vm*/Rss* lines: those stay 0.
struct ProcStatus {
  std::string name;
  pid_t pid = 0;
  pid_t ppid = 0;
  uid_t uid = 0;  // real UID
  std::uint64_t vm_rss = 0;
  std::uint64_t vm_hwm = 0;  // peak RSS since start (or since clear_refs 5)
  std::uint64_t rss_anon = 0;
  std::uint64_t rss_file = 0;
  std::uint64_t rss_shmem = 0;
  std::uint64_t vm_swap = 0;
};

Result<ProcStatus> read_proc_status(const std::string& proc_root, pid_t pid);

// The same parser on an explicit file (e.g. "<proc_root>/self/status").
Result<ProcStatus> read_proc_status_file(const std::string& path);

// The parser alone, on a status file's text (read through a kept-open
// ProcFile); `path` names the file in errors.
Result<ProcStatus> parse_proc_status(const std::string& text, const std::string& path);

}  // namespace ramflow::probe
