// The cgroup mounts of a process's mount namespace, from /proc/PID/mountinfo.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "probe/cgroup.h"
#include "probe/result.h"

namespace ramflow::probe {

// One mount of the memory cgroup hierarchy: `root` is the cgroup shown at
// `mount_point`. The kernel prints `root` relative to the *reader's* cgroup
// namespace (Linux >= 4.6), as it prints the paths of /proc/PID/cgroup, so the
// two compare directly ("/../worker" for a cgroup outside the reader's namespace).
struct CgroupMount {
  std::string root;
  std::string mount_point;  // in that process's mount namespace
};

// v1: mounts of type "cgroup" whose super options name "memory"; v2: type
// "cgroup2". In the file's order; none is an empty list, not an error.
// A line that does not parse is kMalformed.
Result<std::vector<CgroupMount>> read_memory_cgroup_mounts(const std::string& proc_root, pid_t pid,
                                                          CgroupVersion version);

// Parses the text of a mountinfo file (`origin` names it in errors).
Result<std::vector<CgroupMount>> parse_memory_cgroup_mounts(std::string_view text, const std::string& origin,
                                                           CgroupVersion version);

}  // namespace ramflow::probe
