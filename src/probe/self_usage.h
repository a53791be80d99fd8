// ramflowd's own cost, for the standard process_cpu_seconds_total and
// process_resident_memory_bytes.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>

#include "probe/result.h"

namespace ramflow::probe {

struct SelfUsage {
  double cpu_seconds = 0;        // user + system
  std::uint64_t resident_bytes = 0;
};

// From <proc_root>/self/stat (utime + stime) and <proc_root>/self/status (VmRSS).
Result<SelfUsage> read_self_usage(const std::string& proc_root);

// Our PID as seen in proc_root (the <proc_root>/self link); nullopt on a fixture
// tree without one. Pass it to discover_processes so ramflowd skips itself.
std::optional<pid_t> self_pid(const std::string& proc_root);

}  // namespace ramflow::probe
