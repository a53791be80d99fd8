// Memory cgroup facts, v1 and v2, read through a configurable cgroup root.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "probe/psi.h"
#include "probe/result.h"

namespace ramflow::probe {

enum class CgroupVersion { kNone, kV1, kV2 };
std::string_view to_string(CgroupVersion v);  // "none", "v1", "v2"

// v1 when <root>/memory/memory.usage_in_bytes exists; v2 when
// <root>/cgroup.controllers lists "memory"; else kNone. v1 wins on hybrid hosts.
CgroupVersion detect_cgroup_version(const std::string& cgroup_root);

// The process's memory cgroup, relative to the hierarchy root ("/kubepods/..."),
// from <proc_root>/PID/cgroup: v1 the line whose controllers include "memory",
// v2 the "0::" line. kNone, or no such line: kMalformed.
Result<std::string> read_memory_cgroup_path(const std::string& proc_root, pid_t pid,
                                            CgroupVersion version);

// Directory of a cgroup: v1 <root>/memory/<relative>, v2 <root>/<relative>.
std::string memory_cgroup_dir(const std::string& cgroup_root, CgroupVersion version,
                              const std::string& relative);

// Sizes in bytes, counts as the kernel keeps them.
struct CgroupMemory {
  CgroupVersion version = CgroupVersion::kNone;
  std::uint64_t usage = 0;              // v2 memory.current, v1 memory.usage_in_bytes
  std::optional<std::uint64_t> limit;   // nullopt = unlimited ("max" or >= 2^62)
  std::optional<std::uint64_t> peak;    // v2 memory.peak (Linux >= 5.19), v1 memory.max_usage_in_bytes
  std::uint64_t anon = 0;               // v1: total_rss
  std::uint64_t file = 0;               // v1: total_cache
  std::uint64_t active_file = 0;
  std::uint64_t inactive_file = 0;
  std::uint64_t shmem = 0;              // v1 total_shmem (absent on old kernels: 0)
  std::uint64_t unevictable = 0;
  std::optional<std::uint64_t> oom_kill;  // v2 memory.events, v1 memory.oom_control (Linux >= 4.13)
  std::uint64_t oom_events = 0;           // v2 memory.events "oom"; v1 has no such counter: 0
  std::optional<Psi> pressure;            // the cgroup's own memory.pressure (v2 only)
  // Errors on optional files (peak, events, pressure) that left the field empty;
  // the required numbers above are still valid. A missing file is not listed.
  std::vector<ReadError> optional_errors;

  // usage - inactive_file, clamped at 0 (cAdvisor's and the kubelet's definition).
  std::uint64_t working_set() const { return usage > inactive_file ? usage - inactive_file : 0; }
  // What the kernel cannot reclaim before it OOM-kills.
  std::uint64_t nonreclaimable() const { return anon + shmem + unevictable; }
};

// dir: a cgroup directory (memory_cgroup_dir). The directory missing: kNotFound
// (the cgroup vanished); a required file missing in an existing directory: kMalformed.
Result<CgroupMemory> read_cgroup_memory(const std::string& dir, CgroupVersion version);

}  // namespace ramflow::probe
