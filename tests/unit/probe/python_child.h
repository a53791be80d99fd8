// A real /usr/bin/python3 child the live tests drive over pipes:
//   "ready" once started; on "alloc N" it allocates and touches N MiB more and
//   answers "done"; it exits at EOF on stdin.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <functional>
#include <string>
#include <vector>

namespace ramflow::probe::live {

inline constexpr const char* kPython = "/usr/bin/python3";

inline const char* kScript = R"(
import sys
held = []
print("ready", flush=True)
for line in sys.stdin:
    held.append(b"\x01" * (int(line.split()[1]) << 20))  # memset: every page touched
    print("done", flush=True)
)";

class PythonChild {
 public:
  // tag ends up in the cmdline, for discovery by regex; before_exec runs in the
  // forked child (e.g. setuid).
  explicit PythonChild(const std::string& tag, std::function<void()> before_exec = {}) {
    int in[2], out[2];
    if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(out, O_CLOEXEC) != 0) return;
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(in[0], 0);
      ::dup2(out[1], 1);
      if (before_exec) before_exec();
      ::execl(kPython, kPython, "-c", kScript, tag.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    ::close(in[0]);
    ::close(out[1]);
    to_child_ = in[1];
    from_child_ = out[0];
  }
  ~PythonChild() {
    if (to_child_ >= 0) ::close(to_child_);
    if (from_child_ >= 0) ::close(from_child_);
    if (pid_ > 0 && !reaped_) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  PythonChild(const PythonChild&) = delete;
  PythonChild& operator=(const PythonChild&) = delete;

  pid_t pid() const { return pid_; }

  // The child's next line ("ready", "done"), or "" when it died.
  std::string read_line() {
    std::string line;
    char c;
    while (::read(from_child_, &c, 1) == 1) {
      if (c == '\n') return line;
      line += c;
    }
    return "";
  }

  bool allocate_mib(int mib) {
    const std::string cmd = "alloc " + std::to_string(mib) + "\n";
    return ::write(to_child_, cmd.data(), cmd.size()) == static_cast<ssize_t>(cmd.size());
  }

  // Waits for the child to end; returns the raw wait status.
  int wait() {
    int status = 0;
    ::waitpid(pid_, &status, 0);
    reaped_ = true;
    return status;
  }

 private:
  pid_t pid_ = -1;
  int to_child_ = -1;
  int from_child_ = -1;
  bool reaped_ = false;
};

}  // namespace ramflow::probe::live
