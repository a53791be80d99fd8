// The routes from a sidecar container to the worker container's memory cgroup,
// on the trees of tests/fixtures/routes/ (v1 captured from real podman pods and
// a real private cgroup namespace; v2 hand-made) and on the e2e trees (a host).
#include "probe/cgroup_route.h"

#include <gtest/gtest.h>

#include <fstream>

#include "fixture.h"
#include "probe/mountinfo.h"

namespace ramflow::probe {
namespace {

using fx::fixture;

constexpr std::uint64_t kWorkerLimit = 384ull << 20;   // the worker containers of the hand-made trees
constexpr std::uint64_t kSidecarLimit = 128ull << 20;  // their sidecar's own cgroup: never the answer

struct Tree {
  std::string proc, cgroup_root;
};

Tree tree(const std::string& name) {
  return {fixture("routes/" + name + "/proc"), fixture("routes/" + name + "/sys/fs/cgroup")};
}

// The captured trees keep their real pids: capture_routes.sh notes the worker's.
pid_t worker_pid(const std::string& name) {
  std::ifstream in(fixture("routes/" + name + "/WORKER_PID"));
  pid_t pid = 0;
  in >> pid;
  EXPECT_GT(pid, 0) << name;
  return pid;
}

CgroupLocation locate(const Tree& t, CgroupVersion v, pid_t pid) {
  auto loc = locate_memory_cgroup(t.proc, t.cgroup_root, v, pid);
  EXPECT_TRUE(loc) << loc.error().message();
  return loc ? loc.value() : CgroupLocation{};
}

std::optional<std::uint64_t> limit_through(const Tree& t, CgroupVersion v, const CgroupLocation& loc, pid_t pid) {
  auto m = read_cgroup_memory(cgroup_dir_for(t.proc, loc, pid), v);
  EXPECT_TRUE(m) << m.error().message();
  return m ? m.value().limit : std::nullopt;
}

TEST(CgroupRoute, HostSeesTheWholeV1HierarchyUnderItsCgroupRoot) {
  auto loc = locate({fx::kV1Proc, fx::kV1CgroupRoot}, CgroupVersion::kV1, fx::kMainPid);
  EXPECT_EQ(loc.route, CgroupRoute::kCgroupRoot);
  EXPECT_EQ(loc.path, "/ramflow-fixture");
  EXPECT_EQ(loc.dir, fx::kV1CgroupRoot + "/memory/ramflow-fixture");
  EXPECT_EQ(limit_through({fx::kV1Proc, fx::kV1CgroupRoot}, CgroupVersion::kV1, loc, fx::kMainPid), 192ull << 20);
}

TEST(CgroupRoute, PureV2HostWithoutNamespacesReadsThePathUnderTheRoot) {
  auto loc = locate({fx::kV2Proc, fx::kV2CgroupRoot}, CgroupVersion::kV2, fx::kChild1Pid);
  EXPECT_EQ(loc.route, CgroupRoute::kCgroupRoot);
  EXPECT_EQ(loc.path, fx::kV2PodCgroup);
}

TEST(CgroupRoute, V1PodmanPodGoesThroughTheWorkersOwnMountOfItsSubtree) {
  // Captured from a real podman pod: runc mounts each container's own cgroup at
  // /sys/fs/cgroup/memory, so the sidecar's there is its own (128 MiB).
  const Tree t = tree("v1-container");
  const pid_t worker = worker_pid("v1-container");
  auto loc = locate(t, CgroupVersion::kV1, worker);
  EXPECT_EQ(loc.route, CgroupRoute::kWorkerMount);
  EXPECT_EQ(loc.path.rfind("/libpod_parent/", 0), 0u) << loc.path;
  EXPECT_EQ(loc.dir, "/sys/fs/cgroup/memory");
  EXPECT_EQ(limit_through(t, CgroupVersion::kV1, loc, worker), kWorkerLimit);
  auto own = read_cgroup_memory(t.cgroup_root + "/memory", CgroupVersion::kV1);
  ASSERT_TRUE(own);
  EXPECT_EQ(own.value().limit, kSidecarLimit);
}

TEST(CgroupRoute, V1PrivateCgroupNamespaceGoesThroughTheWorkersOwnMount) {
  // Captured from real private cgroup + mount namespaces: the worker's mountinfo
  // also lists the host's memory mount it inherited ("/../.."), hidden under a tmpfs.
  const Tree t = tree("v1-cgroupns");
  const pid_t worker = worker_pid("v1-cgroupns");
  auto loc = locate(t, CgroupVersion::kV1, worker);
  EXPECT_EQ(loc.route, CgroupRoute::kWorkerMount);
  EXPECT_EQ(loc.path, "/../worker");
  EXPECT_EQ(loc.dir, "/sys/fs/cgroup/memory");
  EXPECT_EQ(limit_through(t, CgroupVersion::kV1, loc, worker), kWorkerLimit);
}

TEST(CgroupRoute, V2PrivateCgroupNamespaceGoesThroughTheWorkersOwnMount) {
  const Tree t = tree("v2-cgroupns");
  auto loc = locate(t, CgroupVersion::kV2, 12);
  EXPECT_EQ(loc.route, CgroupRoute::kWorkerMount);
  EXPECT_EQ(loc.path, "/../cri-containerd-7f3a9c.scope");
  EXPECT_EQ(loc.dir, "/sys/fs/cgroup");
  EXPECT_EQ(cgroup_dir_for(t.proc, loc, 13), t.proc + "/13/root/sys/fs/cgroup");
  EXPECT_EQ(limit_through(t, CgroupVersion::kV2, loc, 12), kWorkerLimit);
}

TEST(CgroupRoute, V2HostNamespaceContainerGoesThroughTheWorkersOwnMount) {
  const Tree t = tree("v2-container");
  auto loc = locate(t, CgroupVersion::kV2, 12);
  EXPECT_EQ(loc.route, CgroupRoute::kWorkerMount);
  EXPECT_EQ(loc.dir, "/sys/fs/cgroup");
  EXPECT_EQ(limit_through(t, CgroupVersion::kV2, loc, 12), kWorkerLimit);
}

TEST(CgroupRoute, AWorkerBelowItsContainersCgroupIsFoundInsideTheMount) {
  const Tree t = tree("v2-nested");
  auto loc = locate(t, CgroupVersion::kV2, 12);
  EXPECT_EQ(loc.route, CgroupRoute::kWorkerMount);
  EXPECT_EQ(loc.dir, "/sys/fs/cgroup/app");
  EXPECT_EQ(limit_through(t, CgroupVersion::kV2, loc, 12), kWorkerLimit);
}

TEST(CgroupRoute, NoMemoryMountInTheWorkerIsUnreachableWithTheRemedy) {
  auto loc = locate(tree("v1-no-mount"), CgroupVersion::kV1, 12);
  EXPECT_EQ(loc.route, CgroupRoute::kUnreachable);
  EXPECT_EQ(loc.path, "/kubepods/burstable/pod0e5a/cri-containerd-7f3a9c.scope");
  EXPECT_NE(loc.missing.find("does not exist"), std::string::npos) << loc.missing;
  EXPECT_NE(loc.missing.find("no memory cgroup mount"), std::string::npos) << loc.missing;
  EXPECT_NE(loc.remedy.find("--cgroup-root"), std::string::npos) << loc.remedy;
  EXPECT_TRUE(loc.dir.empty());
}

TEST(CgroupRoute, ADirectoryOfAnotherCgroupIsNeverTaken) {
  auto loc = locate(tree("v1-wrong-dir"), CgroupVersion::kV1, 12);
  EXPECT_EQ(loc.route, CgroupRoute::kUnreachable);
  EXPECT_NE(loc.missing.find("is another cgroup (its cgroup.procs does not list pid 12)"), std::string::npos) << loc.missing;
  EXPECT_NE(loc.missing.find("shows cgroup /kubepods/burstable/pod0e5a/other"), std::string::npos) << loc.missing;
}

TEST(CgroupRoute, AGoneProcessIsNotFound) {
  auto loc = locate_memory_cgroup(fixture("routes/v2-cgroupns/proc"), fixture("routes/v2-cgroupns/sys/fs/cgroup"),
                                  CgroupVersion::kV2, 999);
  ASSERT_FALSE(loc);
  EXPECT_EQ(loc.error().kind, ErrorKind::kNotFound);
}

TEST(CgroupRoute, PinnedIsTakenAsGiven) {
  auto loc = pinned_cgroup("/sys/fs/cgroup", CgroupVersion::kV1, "/kubepods/x");
  EXPECT_EQ(loc.route, CgroupRoute::kPinned);
  EXPECT_EQ(loc.dir, "/sys/fs/cgroup/memory/kubepods/x");
  EXPECT_EQ(to_string(loc.route), "pinned");
}

TEST(CgroupRoute, TheSidecarsOwnLimitIsNeverTheAnswer) {
  for (const char* name : {"v2-cgroupns", "v2-container", "v2-nested"}) {
    const Tree t = tree(name);
    auto own = read_cgroup_memory(t.cgroup_root, CgroupVersion::kV2);
    ASSERT_TRUE(own) << name;
    EXPECT_EQ(own.value().limit, kSidecarLimit) << name;
    EXPECT_EQ(limit_through(t, CgroupVersion::kV2, locate(t, CgroupVersion::kV2, 12), 12), kWorkerLimit) << name;
  }
}

TEST(Mountinfo, KeepsOnlyTheMemoryHierarchyOfTheVersion) {
  const std::string text =
      "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
      "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
      "35 31 0:32 /libpod_parent/x /sys/fs/cgroup/memory rw,relatime shared:9 master:3 - cgroup cgroup rw,memory\n"
      "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw,nsdelegate\n";
  auto v1 = parse_memory_cgroup_mounts(text, "mountinfo", CgroupVersion::kV1);
  ASSERT_TRUE(v1);
  ASSERT_EQ(v1.value().size(), 1u);
  EXPECT_EQ(v1.value()[0].root, "/libpod_parent/x");
  EXPECT_EQ(v1.value()[0].mount_point, "/sys/fs/cgroup/memory");
  auto v2 = parse_memory_cgroup_mounts(text, "mountinfo", CgroupVersion::kV2);
  ASSERT_TRUE(v2);
  ASSERT_EQ(v2.value().size(), 1u);
  EXPECT_EQ(v2.value()[0].mount_point, "/sys/fs/cgroup/unified");
}

TEST(Mountinfo, UnescapesOctalInPaths) {
  auto m = parse_memory_cgroup_mounts("7 1 0:9 /a\\040b /mnt/c\\134d rw - cgroup2 none rw\n", "mi", CgroupVersion::kV2);
  ASSERT_TRUE(m);
  EXPECT_EQ(m.value()[0].root, "/a b");
  EXPECT_EQ(m.value()[0].mount_point, "/mnt/c\\d");
}

TEST(Mountinfo, MalformedLinesAreErrors) {
  for (const char* bad : {"7 1 0:9 / /mnt rw cgroup2 none rw\n", "7 1 0:9\n", "7 1 0:9 / /mnt rw - cgroup2\n",
                          "7 1 0:9 / /mnt rw - cgroup2 none rw"}) {
    auto m = parse_memory_cgroup_mounts(bad, "mi", CgroupVersion::kV2);
    ASSERT_FALSE(m) << bad;
    EXPECT_EQ(m.error().kind, ErrorKind::kMalformed) << bad;
  }
}

}  // namespace
}  // namespace ramflow::probe
