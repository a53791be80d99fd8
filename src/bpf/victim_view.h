// Turns the kernel's view of an OOM victim into this process's view: the pid in
// our own pid namespace and the watched cgroup directory it belongs to.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "bpf/oom_watcher.h"

struct oom_watch_event;

namespace ramflow::bpf {

// Inode of /proc/self/ns/pid; 0 if unreadable.
uint64_t own_pid_namespace();

OomEvent to_oom_event(const oom_watch_event& raw, uint64_t own_pid_ns, long page_size);

// Maps memory cgroup ids to directories under the watched ones. The tree is
// rescanned only when an id is unknown (OOM kills are rare, trees are small).
class CgroupDirectory {
 public:
  explicit CgroupDirectory(std::vector<std::string> watched);
  // Fills event.cgroup_dir/watched_cgroup; false when the id is under no watched dir.
  bool resolve(OomEvent& event);
  bool empty() const { return watched_.empty(); }

 private:
  void rescan();
  std::vector<std::string> watched_;
  // id -> (directory, watched root)
  std::unordered_map<uint64_t, std::pair<std::string, std::string>> by_id_;
};

}  // namespace ramflow::bpf
