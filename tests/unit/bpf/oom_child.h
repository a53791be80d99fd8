// A real /usr/bin/python3 that allocates past its cgroup's limit, held at the
// start line until release() so the parent can read its pid and start time.
#pragma once

#include <sys/types.h>

#include <string>

namespace ramflow::bpf::testing {

class OomChild {
 public:
  explicit OomChild(const std::string& cgroup_dir);
  ~OomChild();  // kills and reaps the child if still there
  pid_t pid() const { return pid_; }
  void release();
  // Waits for the child to end; true when the kernel SIGKILLed it.
  bool wait_killed();

 private:
  pid_t pid_ = -1;
  int go_fd_ = -1;
  bool reaped_ = false;
};

// Field 22 of /proc/PID/stat (clock ticks since boot); 0 if unreadable.
unsigned long long proc_start_ticks(pid_t pid);

}  // namespace ramflow::bpf::testing
