#include "daemon/restore_budget.h"

#include <algorithm>
#include <optional>

#include "probe/cgroup.h"
#include "probe/meminfo.h"
#include "probe/self_usage.h"

namespace ramflow::daemon {
namespace {

// Free memory under the own memory cgroup's limit; nullopt without a limit.
std::optional<std::uint64_t> cgroup_free(const std::string& proc_root, const std::string& cgroup_root) {
  const auto version = probe::detect_cgroup_version(cgroup_root);
  const auto pid = probe::self_pid(proc_root);
  if (version == probe::CgroupVersion::kNone || !pid) return std::nullopt;
  const auto path = probe::read_memory_cgroup_path(proc_root, *pid, version);
  if (!path) return std::nullopt;
  const auto memory = probe::read_cgroup_memory(probe::memory_cgroup_dir(cgroup_root, version, path.value()), version);
  if (!memory || !memory.value().limit) return std::nullopt;
  const std::uint64_t limit = *memory.value().limit;
  return limit > memory.value().usage ? limit - memory.value().usage : 0;
}

}  // namespace

RestoreBudget state_restore_budget(const std::string& proc_root, const std::string& cgroup_root) {
  std::uint64_t free = 0;
  std::string where;
  if (auto in_cgroup = cgroup_free(proc_root, cgroup_root)) {
    free = *in_cgroup;
    where = "the sidecar's memory cgroup has free";
  } else if (auto meminfo = probe::read_meminfo(proc_root)) {
    free = meminfo.value().mem_available;
    where = "the host has available (no cgroup limit)";
  } else {
    return {kMaxRestoreBudget / 4, "a default: neither a cgroup limit nor /proc/meminfo could be read"};
  }
  const std::uint64_t bytes = std::clamp(free / 2, kMinRestoreBudget, kMaxRestoreBudget);
  return {bytes, "half of the " + std::to_string(free >> 20) + " MiB " + where +
                     (bytes != free / 2 ? ", within 4 to 256 MiB" : "")};
}

}  // namespace ramflow::daemon
