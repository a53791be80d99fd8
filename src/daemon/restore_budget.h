// How much memory reading the state file back may take: half of what the
// sidecar's own memory cgroup has free (limit − usage), or of the host's
// MemAvailable when the cgroup has no limit; at most 256 MiB, at least 4 MiB.
// In the chart's sidecar (128 MiB limit, ~10 MiB used at start) that is
// ~63 MiB, so the state file may be up to ~6 MiB (StateStore::max_file_bytes).
// The roots are the sidecar's own /proc and cgroup mount, not --proc-root's.
#pragma once

#include <cstdint>
#include <string>

namespace ramflow::daemon {

inline constexpr std::uint64_t kMinRestoreBudget = 4u << 20;
inline constexpr std::uint64_t kMaxRestoreBudget = 256u << 20;

struct RestoreBudget {
  std::uint64_t bytes = 0;
  std::string reason;  // e.g. "half of the 118 MiB the sidecar's memory cgroup has free"
};

RestoreBudget state_restore_budget(const std::string& proc_root, const std::string& cgroup_root);

}  // namespace ramflow::daemon
