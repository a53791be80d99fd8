// The memory cgroup `ramflowd run` makes for its command (DESIGN.md "scope"):
// a child of ramflowd's own memory cgroup, so every pod figure of the run
// describes the command alone (its peak counter starts at zero, nothing else
// is charged to it) and, with --memory-limit, the real OOM killer acts at the
// limit a pod would have. Removed when the run ends.
//
//   std::string why_not;
//   auto cg = RunCgroup::create("/sys/fs/cgroup", "/proc", limit_bytes, &why_not);
//   if (!cg) fall back to the command's process tree, and say why_not
//   cg->add(child_pid, &error);   // before the child execs
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "probe/cgroup.h"

namespace ramflow::app {

class RunCgroup {
 public:
  // Needs write access to the memory hierarchy (root): v1, or v2 with the
  // memory controller delegated to ramflowd's cgroup. nullptr with *why_not
  // when it cannot be made.
  static std::unique_ptr<RunCgroup> create(const std::string& cgroup_root, const std::string& proc_root,
                                           std::optional<std::uint64_t> limit_bytes, std::string* why_not);
  ~RunCgroup();  // removes the directory; logs when it cannot (a process left in it)
  RunCgroup(const RunCgroup&) = delete;
  RunCgroup& operator=(const RunCgroup&) = delete;

  // Relative to the hierarchy root, as /proc/PID/cgroup shows it (--cgroup-path).
  const std::string& path() const { return path_; }
  bool add(pid_t pid, std::string* error) const;

 private:
  RunCgroup(std::string path, std::string dir) : path_(std::move(path)), dir_(std::move(dir)) {}
  std::string path_;
  std::string dir_;
};

}  // namespace ramflow::app
