#include "oom_child.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

namespace ramflow::bpf::testing {
namespace {

// Touches every page (bytes filled with 1) so RSS really grows.
constexpr const char* kAllocate =
    "import time\nheld = []\nwhile True:\n    held.append(b'\\x01' * (1 << 20))\n";

// Only async-signal-safe calls: it runs between fork and exec.
bool enter_cgroup(const char* procs) {
  int fd = open(procs, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  char buf[24];
  int n = snprintf(buf, sizeof(buf), "%d", static_cast<int>(getpid()));
  bool ok = write(fd, buf, static_cast<size_t>(n)) == n;
  close(fd);
  return ok;
}

}  // namespace

OomChild::OomChild(const std::string& cgroup_dir) {
  const std::string procs = cgroup_dir + "/cgroup.procs";
  int go[2];
  if (pipe(go) != 0) return;
  pid_ = fork();
  if (pid_ == 0) {
    close(go[1]);
    char byte;
    if (read(go[0], &byte, 1) != 1 || !enter_cgroup(procs.c_str())) _exit(3);
    execl("/usr/bin/python3", "python3", "-c", kAllocate, static_cast<char*>(nullptr));
    _exit(127);
  }
  close(go[0]);
  go_fd_ = go[1];
}

void OomChild::release() {
  if (go_fd_ < 0) return;
  [[maybe_unused]] auto n = write(go_fd_, "g", 1);
  close(go_fd_);
  go_fd_ = -1;
}

bool OomChild::wait_killed() {
  release();
  int status = 0;
  if (pid_ <= 0 || waitpid(pid_, &status, 0) != pid_) return false;
  reaped_ = true;
  return WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
}

OomChild::~OomChild() {
  if (go_fd_ >= 0) close(go_fd_);
  if (pid_ > 0 && !reaped_) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
}

unsigned long long proc_start_ticks(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto close_paren = text.rfind(')');
  if (close_paren == std::string::npos) return 0;
  std::istringstream fields(text.substr(close_paren + 2));
  std::string field;
  // Fields after ")" start at 3 (state); starttime is field 22.
  for (int i = 3; i < 22 && fields >> field; ++i) {
  }
  unsigned long long ticks = 0;
  fields >> ticks;
  return ticks;
}

}  // namespace ramflow::bpf::testing
