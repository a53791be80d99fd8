// Live tests on this machine's kernel: real python children whose memory the
// test controls, a real v1 memory cgroup with a real limit and a real OOM kill,
// and a real permission check. Tests needing root or a v1 memory hierarchy
// skip with the reason.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <iostream>
#include <regex>
#include <sstream>

#include "probe/cgroup.h"
#include "probe/discovery.h"
#include "probe/proc_status.h"
#include "probe/smaps_rollup.h"
#include "python_child.h"

namespace ramflow::probe {
namespace {

using live::PythonChild;

constexpr std::uint64_t kMiB = 1 << 20;
const std::string kProc = "/proc";
const std::string kCgroupRoot = "/sys/fs/cgroup";

std::string unique_tag() {
  static int n = 0;
  return "ramflow-live-" + std::to_string(::getpid()) + "-" + std::to_string(++n);
}

// |actual - expected| <= 5 % of expected + 8 MiB.
void expect_near_alloc(std::uint64_t actual, std::uint64_t expected, const char* what) {
  const double tolerance = 0.05 * static_cast<double>(expected) + 8.0 * kMiB;
  EXPECT_LE(std::fabs(static_cast<double>(actual) - static_cast<double>(expected)), tolerance)
      << what << ": " << actual / kMiB << " MiB, expected " << expected / kMiB << " MiB";
}

TEST(LiveProcess, DiscoversAndMeasuresAPythonChildThatAllocates) {
  if (::access(live::kPython, X_OK) != 0) GTEST_SKIP() << live::kPython << " is not installed";
  const std::string tag = unique_tag();
  PythonChild child(tag);
  ASSERT_EQ(child.read_line(), "ready");

  const auto found = discover_processes(kProc, std::regex(tag), 64, ::getpid());
  ASSERT_EQ(found.processes.size(), 1u);
  EXPECT_EQ(found.processes[0].pid, child.pid());
  EXPECT_EQ(found.processes[0].ppid, ::getpid());
  EXPECT_EQ(found.processes[0].role, DiscoveredProcess::Role::kStandalone);
  EXPECT_EQ(found.processes[0].cmdline.back(), tag);

  const auto baseline = read_proc_status(kProc, child.pid());
  ASSERT_TRUE(baseline) << baseline.error().message();
  constexpr int kAllocMiB = 200;
  ASSERT_TRUE(child.allocate_mib(kAllocMiB));
  ASSERT_EQ(child.read_line(), "done");

  const auto after = read_proc_status(kProc, child.pid());
  ASSERT_TRUE(after) << after.error().message();
  const std::uint64_t expected = baseline.value().vm_rss + kAllocMiB * kMiB;
  expect_near_alloc(after.value().vm_rss, expected, "VmRSS");
  expect_near_alloc(after.value().vm_hwm, expected, "VmHWM");
  EXPECT_GE(after.value().vm_hwm, after.value().vm_rss);
  EXPECT_GE(after.value().rss_anon, kAllocMiB * kMiB);

  const auto smaps = read_smaps_rollup(kProc, child.pid());
  ASSERT_TRUE(smaps) << smaps.error().message();
  const SmapsRollup& s = smaps.value();
  // The 200 MiB are private to the child: they count fully in PSS and USS.
  EXPECT_GE(s.uss(), kAllocMiB * kMiB);
  EXPECT_LE(s.uss(), s.pss);
  EXPECT_LE(s.pss, s.rss);
  expect_near_alloc(s.rss, after.value().vm_rss, "smaps_rollup Rss");
  std::cout << "baseline VmRSS " << baseline.value().vm_rss / kMiB << " MiB; after " << kAllocMiB
            << " MiB: VmRSS " << after.value().vm_rss / kMiB << " MiB, VmHWM "
            << after.value().vm_hwm / kMiB << " MiB, PSS " << s.pss / kMiB << " MiB, USS "
            << s.uss() / kMiB << " MiB\n";
}

TEST(LiveProcess, ExitedProcessIsNotFound) {
  if (::access(live::kPython, X_OK) != 0) GTEST_SKIP() << live::kPython << " is not installed";
  pid_t pid;
  {
    PythonChild child(unique_tag());
    ASSERT_EQ(child.read_line(), "ready");
    pid = child.pid();
  }  // killed and reaped
  const auto s = read_proc_status(kProc, pid);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().kind, ErrorKind::kNotFound);
}

// A real v1 memory cgroup, removed in every exit path.
class TestCgroup {
 public:
  static std::string skip_reason() {
    if (::geteuid() != 0) return "needs root to create a memory cgroup";
    if (detect_cgroup_version(kCgroupRoot) != CgroupVersion::kV1)
      return "no cgroup v1 memory hierarchy at /sys/fs/cgroup/memory";
    return "";
  }

  TestCgroup() : name_(unique_tag()), dir_(memory_cgroup_dir(kCgroupRoot, CgroupVersion::kV1, name_)) {
    if (::mkdir(dir_.c_str(), 0755) != 0) error_ = "mkdir " + dir_ + ": " + std::strerror(errno);
  }
  ~TestCgroup() {
    for (int attempt = 0; attempt < 100; ++attempt) {
      std::ifstream procs(dir_ + "/cgroup.procs");
      for (pid_t pid; procs >> pid;) ::kill(pid, SIGKILL);
      if (::rmdir(dir_.c_str()) == 0 || errno == ENOENT) return;
      ::usleep(20000);
    }
  }
  TestCgroup(const TestCgroup&) = delete;
  TestCgroup& operator=(const TestCgroup&) = delete;

  const std::string& error() const { return error_; }
  const std::string& name() const { return name_; }
  const std::string& dir() const { return dir_; }

  bool write(const std::string& file, const std::string& value) const {
    std::ofstream f(dir_ + "/" + file);
    f << value;
    f.flush();
    return static_cast<bool>(f);
  }

 private:
  std::string name_;
  std::string dir_;
  std::string error_;
};

TEST(LiveCgroupV1, LimitUsagePeakAndARealOomKill) {
  if (const auto why = TestCgroup::skip_reason(); !why.empty()) GTEST_SKIP() << why;
  if (::access(live::kPython, X_OK) != 0) GTEST_SKIP() << live::kPython << " is not installed";
  TestCgroup cg;
  ASSERT_EQ(cg.error(), "");
  constexpr std::uint64_t kLimit = 64 * kMiB;
  ASSERT_TRUE(cg.write("memory.limit_in_bytes", std::to_string(kLimit)));
  ASSERT_TRUE(cg.write("memory.swappiness", "0"));  // no escape into swap: the kernel must OOM-kill

  PythonChild child(unique_tag());
  ASSERT_EQ(child.read_line(), "ready");
  ASSERT_TRUE(cg.write("cgroup.procs", std::to_string(child.pid())));

  const auto rel = read_memory_cgroup_path(kProc, child.pid(), CgroupVersion::kV1);
  ASSERT_TRUE(rel) << rel.error().message();
  EXPECT_EQ(rel.value(), "/" + cg.name());
  EXPECT_EQ(memory_cgroup_dir(kCgroupRoot, CgroupVersion::kV1, rel.value()), cg.dir());

  // Charges move with new allocations only: 32 MiB allocated inside the cgroup.
  ASSERT_TRUE(child.allocate_mib(32));
  ASSERT_EQ(child.read_line(), "done");
  const auto before = read_cgroup_memory(cg.dir(), CgroupVersion::kV1);
  ASSERT_TRUE(before) << before.error().message();
  const CgroupMemory& m = before.value();
  EXPECT_EQ(m.limit, kLimit);
  EXPECT_GE(m.usage, 32 * kMiB);
  EXPECT_LE(m.usage, kLimit);
  EXPECT_GE(m.anon, 32 * kMiB);
  EXPECT_EQ(m.working_set(), m.usage - std::min(m.usage, m.inactive_file));
  EXPECT_LE(m.working_set(), m.usage);
  ASSERT_TRUE(m.peak);
  EXPECT_GE(*m.peak, m.usage);
  ASSERT_TRUE(m.oom_kill) << "this kernel has no oom_kill in memory.oom_control";
  EXPECT_EQ(*m.oom_kill, 0u);

  // 64 MiB more cannot fit under the 64 MiB limit: a real OOM kill.
  ASSERT_TRUE(child.allocate_mib(64));
  EXPECT_EQ(child.read_line(), "");
  const int status = child.wait();
  ASSERT_TRUE(WIFSIGNALED(status));
  EXPECT_EQ(WTERMSIG(status), SIGKILL);

  const auto after = read_cgroup_memory(cg.dir(), CgroupVersion::kV1);
  ASSERT_TRUE(after) << after.error().message();
  EXPECT_EQ(after.value().oom_kill, 1u);
  ASSERT_TRUE(after.value().peak);
  EXPECT_LE(*after.value().peak, kLimit);
  EXPECT_GE(*after.value().peak, kLimit - 8 * kMiB);  // it reached the limit before the kill
  std::cout << "cgroup with 32 MiB: usage " << m.usage / kMiB << " MiB, working set "
            << m.working_set() / kMiB << " MiB; after the OOM kill: peak "
            << *after.value().peak / kMiB << " MiB, oom_kill " << *after.value().oom_kill << "\n";
}

TEST(LiveCgroupV1, RemovedCgroupIsNotFound) {
  if (const auto why = TestCgroup::skip_reason(); !why.empty()) GTEST_SKIP() << why;
  std::string dir;
  {
    TestCgroup cg;
    ASSERT_EQ(cg.error(), "");
    dir = cg.dir();
    ASSERT_TRUE(read_cgroup_memory(dir, CgroupVersion::kV1));
  }
  const auto r = read_cgroup_memory(dir, CgroupVersion::kV1);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ErrorKind::kNotFound);
}

TEST(LivePermissions, SmapsRollupOfAnotherUsersProcessIsPermissionDenied) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to run processes as two different users";
  if (::access(live::kPython, X_OK) != 0) GTEST_SKIP() << live::kPython << " is not installed";
  constexpr uid_t kNobody = 65534;
  constexpr uid_t kReader = 65533;  // any other unprivileged UID
  PythonChild child(unique_tag(), [] {
    if (::setgid(kNobody) != 0 || ::setuid(kNobody) != 0) ::_exit(126);
  });
  ASSERT_EQ(child.read_line(), "ready");
  const auto as_root = read_smaps_rollup(kProc, child.pid());
  ASSERT_TRUE(as_root) << as_root.error().message();

  // The reader drops to another UID in a forked process and reports the ErrorKind.
  const pid_t reader = ::fork();
  if (reader == 0) {
    if (::setgid(kReader) != 0 || ::setuid(kReader) != 0) ::_exit(100);
    const auto r = read_smaps_rollup(kProc, child.pid());
    if (r) ::_exit(101);
    if (r.error().kind != ErrorKind::kPermissionDenied) ::_exit(102);
    if (r.error().message().find("SYS_PTRACE") == std::string::npos) ::_exit(103);
    const auto status = read_proc_status(kProc, child.pid());  // world-readable
    ::_exit(status ? 0 : 104);
  }
  int st = 0;
  ASSERT_EQ(::waitpid(reader, &st, 0), reader);
  ASSERT_TRUE(WIFEXITED(st));
  EXPECT_EQ(WEXITSTATUS(st), 0) << "100: setuid failed, 101: read succeeded, 102: wrong kind, "
                                   "103: message without the hint, 104: status unreadable";
}

}  // namespace
}  // namespace ramflow::probe
