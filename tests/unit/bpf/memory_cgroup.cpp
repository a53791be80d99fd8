#include "memory_cgroup.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace ramflow::bpf::testing {
namespace {

constexpr const char* kRoot = "/sys/fs/cgroup/memory";
constexpr const char* kPrefix = "ramflow_bpf_test_";

bool write_file(const std::string& path, const std::string& value, std::string* error) {
  std::ofstream out(path);
  out << value;
  out.flush();
  if (out) return true;
  *error = "cannot write " + path + ": " + std::strerror(errno);
  return false;
}

void kill_members_and_remove(const std::string& dir) {
  for (int attempt = 0; attempt < 50; ++attempt) {
    std::ifstream procs(dir + "/cgroup.procs");
    pid_t pid;
    bool any = false;
    while (procs >> pid) {
      any = true;
      kill(pid, SIGKILL);
    }
    if (!any && rmdir(dir.c_str()) == 0) return;
    usleep(20'000);
  }
  rmdir(dir.c_str());
}

// Cgroups of earlier runs whose process is gone (a crash skips destructors).
void remove_stale() {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(kRoot, ec)) {
    const std::string name = entry.path().filename();
    if (name.rfind(kPrefix, 0) != 0) continue;
    const pid_t owner = std::atoi(name.c_str() + std::strlen(kPrefix));
    if (owner > 0 && kill(owner, 0) != 0 && errno == ESRCH) kill_members_and_remove(entry.path());
  }
}

}  // namespace

MemoryCgroup::MemoryCgroup(const std::string& tag, unsigned long long limit_bytes) {
  remove_stale();
  dir_ = std::string(kRoot) + "/" + kPrefix + std::to_string(getpid()) + "_" + tag;
  if (mkdir(dir_.c_str(), 0755) != 0) {
    error_ = "cannot create the memory cgroup " + dir_ + ": " + std::strerror(errno);
    dir_.clear();
    return;
  }
  write_file(dir_ + "/memory.limit_in_bytes", std::to_string(limit_bytes), &error_);
}

MemoryCgroup::~MemoryCgroup() {
  if (!dir_.empty()) kill_members_and_remove(dir_);
}

unsigned long long MemoryCgroup::oom_kill_count() const {
  std::ifstream in(dir_ + "/memory.oom_control");
  std::string key;
  unsigned long long value = 0;
  while (in >> key >> value) {
    if (key == "oom_kill") return value;
  }
  return 0;
}

bool bpf_required() {
  const char* v = std::getenv("RAMFLOW_REQUIRE_BPF");
  return v && std::string(v) == "1";
}

std::string run_capture(const std::vector<std::string>& argv, int* status) {
  int out[2];
  if (pipe2(out, O_CLOEXEC) != 0) return "";
  pid_t pid = fork();
  if (pid == 0) {
    dup2(out[1], STDOUT_FILENO);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  close(out[1]);
  std::string text;
  char buf[4096];
  ssize_t n;
  while ((n = read(out[0], buf, sizeof(buf))) > 0 || (n < 0 && errno == EINTR)) {
    if (n > 0) text.append(buf, static_cast<size_t>(n));
  }
  close(out[0]);
  waitpid(pid, status, 0);
  return text;
}

}  // namespace ramflow::bpf::testing
