// A real v1 memory cgroup for the live tests, removed on every exit path
// (destructor, and stale ones left by killed test runs on the next start).
#pragma once

#include <string>
#include <vector>

namespace ramflow::bpf::testing {

class MemoryCgroup {
 public:
  // Creates /sys/fs/cgroup/memory/ramflow_bpf_test_<pid>_<tag> with the limit;
  // on failure ok() is false and error() says why.
  MemoryCgroup(const std::string& tag, unsigned long long limit_bytes);
  ~MemoryCgroup();
  MemoryCgroup(const MemoryCgroup&) = delete;
  MemoryCgroup& operator=(const MemoryCgroup&) = delete;

  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }
  const std::string& dir() const { return dir_; }
  unsigned long long oom_kill_count() const;

 private:
  std::string dir_;
  std::string error_;
};

// True when CI demands the live tests run (env RAMFLOW_REQUIRE_BPF=1): skips become failures.
bool bpf_required();

// Runs argv (argv[0] a path), returns its stdout; exit status in *status.
std::string run_capture(const std::vector<std::string>& argv, int* status);

}  // namespace ramflow::bpf::testing
