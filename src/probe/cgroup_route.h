// How the sidecar reaches the memory cgroup of a worker in another container
// of the pod, on cgroup v1 and v2, with or without cgroup namespaces.
//
// /proc/PID/cgroup names the worker's cgroup relative to the sidecar's cgroup
// namespace. The routes, in order:
//   cgroup_root   <cgroup root>/<that path>: the sidecar sees the hierarchy (a host,
//                 a hostPath mount of /sys/fs/cgroup, a runtime mounting it whole).
//   worker_mount  /proc/PID/root/<the worker's own mount of its cgroup>/<rest>: the
//                 worker container's mount, found in /proc/PID/mountinfo (runc and
//                 crun mount the container's own cgroup at /sys/fs/cgroup[/memory],
//                 on v1 and on v2 with private cgroup namespaces). Needs ptrace-read
//                 access to the worker: its UID, or CAP_SYS_PTRACE.
// A directory counts only when its cgroup.procs lists the worker's pid (the
// kernel's own word that it is that cgroup): never a figure from another container.
//
//   auto loc = locate_memory_cgroup("/proc", "/sys/fs/cgroup", CgroupVersion::kV1, pid);
//   if (loc && loc.value().route != CgroupRoute::kUnreachable)
//     read_cgroup_memory(cgroup_dir_for("/proc", loc.value(), pid), CgroupVersion::kV1);
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>

#include "probe/cgroup.h"
#include "probe/result.h"

namespace ramflow::probe {

enum class CgroupRoute { kPinned, kCgroupRoot, kWorkerMount, kUnreachable };
std::string_view to_string(CgroupRoute route);  // "pinned", "cgroup_root", "worker_mount", "unreachable"

struct CgroupLocation {
  std::string path;  // as /proc/PID/cgroup names it (the key of the worker's cgroup)
  CgroupRoute route = CgroupRoute::kUnreachable;
  // kCgroupRoot, kPinned: the directory. kWorkerMount: the directory inside the
  // worker's root ("/sys/fs/cgroup/memory"), reached through any live process of
  // the cgroup (cgroup_dir_for).
  std::string dir;
  // kUnreachable: what each route found, and what would give access (one line).
  std::string missing;
  std::string remedy;
};

// The directory to read for `pid`, a live process of `loc`'s cgroup.
std::string cgroup_dir_for(const std::string& proc_root, const CgroupLocation& loc, pid_t pid);

// A route to `pid`'s memory cgroup, or kUnreachable with the reason and the remedy.
// Errors: the process is gone (kNotFound), or /proc/PID/cgroup is unreadable or malformed.
Result<CgroupLocation> locate_memory_cgroup(const std::string& proc_root, const std::string& cgroup_root,
                                            CgroupVersion version, pid_t pid);

// --cgroup-path: the directory under the cgroup root, taken as given.
CgroupLocation pinned_cgroup(const std::string& cgroup_root, CgroupVersion version, const std::string& path);

}  // namespace ramflow::probe
