// Loader failure paths and the kernel-to-sidecar view of a victim.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>

#include "bpf/oom_watch.h"
#include "bpf/oom_watcher.h"
#include "bpf/victim_view.h"

namespace ramflow::bpf {
namespace {

TEST(OomWatcherStart, ForcedLoadFailureReturnsNullWithAReason) {
  Options options;
  options.fail_load_for_test = true;
  std::string why_not;
  EXPECT_EQ(OomWatcher::start(options, &why_not), nullptr);
  if (OomWatcher::built_with_bpf()) {
    // Either the forced failure or an earlier, genuine, named cause (no BTF/caps).
    EXPECT_FALSE(why_not.empty());
  } else {
    EXPECT_EQ(why_not, "built without eBPF support (configure with -DRAMFLOW_WITH_BPF=ON)");
  }
}

TEST(OomWatcherStart, ForcedLoadFailureNamesItselfWhenEverythingElseIsThere) {
  if (!OomWatcher::built_with_bpf() || access("/sys/kernel/btf/vmlinux", R_OK) != 0 || geteuid() != 0) {
    GTEST_SKIP() << "needs a BPF build, kernel BTF and root to reach the load step";
  }
  Options options;
  options.fail_load_for_test = true;
  std::string why_not;
  EXPECT_EQ(OomWatcher::start(options, &why_not), nullptr);
  EXPECT_EQ(why_not, "forced load failure (Options::fail_load_for_test)");
}

TEST(OomWatcherStart, MissingBtfIsNamed) {
  if (!OomWatcher::built_with_bpf()) GTEST_SKIP() << "built without eBPF support";
  Options options;
  options.btf_path = "/nonexistent/vmlinux";
  std::string why_not;
  EXPECT_EQ(OomWatcher::start(options, &why_not), nullptr);
  EXPECT_EQ(why_not.rfind("no BTF at /nonexistent/vmlinux (No such file or directory)", 0), 0u) << why_not;
}

oom_watch_event raw_event() {
  oom_watch_event raw{};
  raw.host_tgid = 40123;
  raw.uid = 1000;
  raw.pid_level = 2;
  raw.nr_levels = 3;
  raw.upid[0] = {40123, 4026531836};
  raw.upid[1] = {812, 4026532001};
  raw.upid[2] = {7, 4026532002};
  raw.anon_rss_pages = 10;
  raw.file_rss_pages = 2;
  raw.shmem_rss_pages = 1;
  raw.total_vm_pages = 100;
  raw.memcg_id = 55;
  raw.start_boottime_ns = 123456789;
  std::memcpy(raw.comm, "celery", 7);
  return raw;
}

TEST(VictimView, PidIsTheOneOfOurOwnNamespaceLevel) {
  const auto raw = raw_event();
  EXPECT_EQ(to_oom_event(raw, 4026531836, 4096).pid, 40123);  // sidecar on the host
  EXPECT_EQ(to_oom_event(raw, 4026532001, 4096).pid, 812);    // sidecar in the pod namespace
  EXPECT_EQ(to_oom_event(raw, 4026532002, 4096).pid, 7);      // sidecar beside the victim
  EXPECT_EQ(to_oom_event(raw, 999, 4096).pid, 0);             // victim not visible from here
}

TEST(VictimView, CopiesTheRestInBytes) {
  const OomEvent e = to_oom_event(raw_event(), 4026532002, 4096);
  EXPECT_EQ(e.host_pid, 40123);
  EXPECT_EQ(e.ns_pid, 7);
  EXPECT_EQ(e.uid, 1000u);
  EXPECT_EQ(e.comm, "celery");
  EXPECT_EQ(e.anon_rss_bytes, 40960u);
  EXPECT_EQ(e.rss_bytes(), 13u * 4096);
  EXPECT_EQ(e.total_vm_bytes, 409600u);
  EXPECT_EQ(e.cgroup_id, 55u);
  EXPECT_EQ(e.start_time_ns, 123456789u);
}

TEST(VictimView, UnterminatedCommAndTooManyLevelsStayInBounds) {
  auto raw = raw_event();
  std::memset(raw.comm, 'x', sizeof(raw.comm));
  raw.nr_levels = 99;
  const OomEvent e = to_oom_event(raw, 4026531836, 4096);
  EXPECT_EQ(e.comm, std::string(16, 'x'));
  EXPECT_EQ(e.pid, 40123);
}

class CgroupDirectoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = std::filesystem::temp_directory_path() / ("ramflow_cgdir_" + std::to_string(getpid()));
    std::filesystem::create_directories(root_ / "pod" / "worker");
    std::filesystem::create_directories(root_ / "other");
  }
  void TearDown() override { std::filesystem::remove_all(root_); }
  static uint64_t inode(const std::filesystem::path& p) {
    struct stat st {};
    stat(p.c_str(), &st);
    return st.st_ino;
  }
  std::filesystem::path root_;
};

TEST_F(CgroupDirectoryTest, ResolvesADescendantToItsWatchedRoot) {
  const std::string pod = (root_ / "pod").string();
  CgroupDirectory dirs({pod});
  OomEvent e;
  e.cgroup_id = inode(root_ / "pod" / "worker");
  ASSERT_TRUE(dirs.resolve(e));
  EXPECT_EQ(e.cgroup_dir, (root_ / "pod" / "worker").string());
  EXPECT_EQ(e.watched_cgroup, pod);
}

TEST_F(CgroupDirectoryTest, FindsACgroupCreatedAfterTheFirstScan) {
  CgroupDirectory dirs({(root_ / "pod").string()});
  OomEvent e;
  e.cgroup_id = inode(root_ / "pod");
  ASSERT_TRUE(dirs.resolve(e));
  std::filesystem::create_directories(root_ / "pod" / "late");
  e.cgroup_id = inode(root_ / "pod" / "late");
  ASSERT_TRUE(dirs.resolve(e));
  EXPECT_EQ(e.cgroup_dir, (root_ / "pod" / "late").string());
}

TEST_F(CgroupDirectoryTest, RejectsACgroupOutsideTheWatchedOnes) {
  CgroupDirectory dirs({(root_ / "pod").string()});
  OomEvent e;
  e.cgroup_id = inode(root_ / "other");
  EXPECT_FALSE(dirs.resolve(e));
  EXPECT_TRUE(e.watched_cgroup.empty());
}

}  // namespace
}  // namespace ramflow::bpf
