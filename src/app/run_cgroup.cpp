#include "app/run_cgroup.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string_view>

#include <spdlog/spdlog.h>

namespace ramflow::app {
namespace {

bool write_file(const std::string& path, std::string_view text, std::string* error) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    *error = "cannot open " + path + ": " + std::strerror(errno);
    return false;
  }
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  if (!ok) *error = "cannot write \"" + std::string(text) + "\" to " + path + ": " + std::strerror(errno);
  ::close(fd);
  return ok;
}

}  // namespace

std::unique_ptr<RunCgroup> RunCgroup::create(const std::string& cgroup_root, const std::string& proc_root,
                                             std::optional<std::uint64_t> limit, std::string* why_not) {
  const auto version = probe::detect_cgroup_version(cgroup_root);
  if (version == probe::CgroupVersion::kNone) {
    *why_not = "no memory cgroup controller under " + cgroup_root;
    return nullptr;
  }
  auto own = probe::read_memory_cgroup_path(proc_root, ::getpid(), version);
  if (!own) {
    *why_not = "cannot read ramflowd's own memory cgroup: " + own.error().message();
    return nullptr;
  }
  std::string parent = own.value() == "/" ? "" : own.value();
  std::string path = parent + "/ramflow-run-" + std::to_string(::getpid());
  std::string dir = probe::memory_cgroup_dir(cgroup_root, version, path);
  std::string error;
  if (version == probe::CgroupVersion::kV2 &&
      !write_file(probe::memory_cgroup_dir(cgroup_root, version, parent.empty() ? "/" : parent) + "/cgroup.subtree_control",
                  "+memory", &error)) {
    *why_not = "the memory controller is not delegated to ramflowd's cgroup (" + error + ")";
    return nullptr;
  }
  if (::mkdir(dir.c_str(), 0755) != 0) {
    *why_not = "cannot create " + dir + ": " + std::strerror(errno) + " (needs root, or a delegated cgroup)";
    return nullptr;
  }
  std::unique_ptr<RunCgroup> cg(new RunCgroup(path, dir));
  if (limit) {
    const char* file = version == probe::CgroupVersion::kV1 ? "/memory.limit_in_bytes" : "/memory.max";
    if (!write_file(dir + file, std::to_string(*limit), &error)) {
      *why_not = "cannot set the memory limit: " + error;
      return nullptr;  // the destructor removes the directory
    }
  }
  return cg;
}

bool RunCgroup::add(pid_t pid, std::string* error) const {
  return write_file(dir_ + "/cgroup.procs", std::to_string(pid), error);
}

RunCgroup::~RunCgroup() {
  // The kernel refuses while a process lives in it; charged page cache moves to the parent.
  for (int attempt = 0; attempt < 50; ++attempt) {
    if (::rmdir(dir_.c_str()) == 0 || errno == ENOENT) return;
    if (errno != EBUSY) break;
    ::usleep(20'000);
  }
  spdlog::warn("cannot remove the run's cgroup {}: {} — a process the command started may still run in it",
               dir_, std::strerror(errno));
}

}  // namespace ramflow::app
