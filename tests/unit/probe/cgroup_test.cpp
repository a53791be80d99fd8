#include "probe/cgroup.h"

#include <gtest/gtest.h>

#include "fixture.h"

namespace ramflow::probe {
namespace {

using namespace fx;

const std::string kV1Dir = kV1CgroupRoot + "/memory/ramflow-fixture";
const std::string kV2Dir = kV2CgroupRoot + kV2PodCgroup;

// Both trees describe the same pod (e2e-v2 is derived from the v1 capture).
constexpr std::uint64_t kUsage = 89300992;
constexpr std::uint64_t kLimit = 201326592;  // 192 MiB
constexpr std::uint64_t kAnon = 77672448;
constexpr std::uint64_t kFile = 10485760;
constexpr std::uint64_t kInactiveFile = 8388608;
constexpr std::uint64_t kShmem = 2097152;

void expect_the_fixture_pod(const CgroupMemory& m) {
  EXPECT_EQ(m.usage, kUsage);
  EXPECT_EQ(m.limit, kLimit);
  EXPECT_EQ(m.peak, kLimit);  // a child was OOM-killed at the limit
  EXPECT_EQ(m.anon, kAnon);
  EXPECT_EQ(m.file, kFile);
  EXPECT_EQ(m.active_file, 0u);
  EXPECT_EQ(m.inactive_file, kInactiveFile);
  EXPECT_EQ(m.shmem, kShmem);
  EXPECT_EQ(m.unevictable, 0u);
  EXPECT_EQ(m.oom_kill, 1u);
  EXPECT_TRUE(m.optional_errors.empty());
  EXPECT_EQ(m.working_set(), kUsage - kInactiveFile);
  EXPECT_EQ(m.nonreclaimable(), kAnon + kShmem);
}

TEST(CgroupVersion, DetectsV1ByItsMemoryHierarchy) {
  EXPECT_EQ(detect_cgroup_version(kV1CgroupRoot), CgroupVersion::kV1);
}

TEST(CgroupVersion, DetectsV2ByTheMemoryController) {
  EXPECT_EQ(detect_cgroup_version(kV2CgroupRoot), CgroupVersion::kV2);
}

TEST(CgroupVersion, NoMemoryHierarchyIsNone) {
  EXPECT_EQ(detect_cgroup_version(fixture("no-such-root")), CgroupVersion::kNone);
  EXPECT_EQ(to_string(CgroupVersion::kNone), "none");
  EXPECT_EQ(to_string(CgroupVersion::kV1), "v1");
  EXPECT_EQ(to_string(CgroupVersion::kV2), "v2");
}

TEST(CgroupPath, V1TakesTheMemoryControllerLine) {
  const auto p = read_memory_cgroup_path(kV1Proc, kMainPid, CgroupVersion::kV1);
  ASSERT_TRUE(p) << p.error().message();
  EXPECT_EQ(p.value(), "/ramflow-fixture");
  EXPECT_EQ(memory_cgroup_dir(kV1CgroupRoot, CgroupVersion::kV1, p.value()), kV1Dir);
}

TEST(CgroupPath, V2TakesTheUnifiedLine) {
  const auto p = read_memory_cgroup_path(kV2Proc, kChild2Pid, CgroupVersion::kV2);
  ASSERT_TRUE(p) << p.error().message();
  EXPECT_EQ(p.value(), kV2PodCgroup);
  EXPECT_EQ(memory_cgroup_dir(kV2CgroupRoot, CgroupVersion::kV2, p.value()), kV2Dir);
}

TEST(CgroupPath, HybridHostHasBothLines) {
  // The real v1 capture also carries the "0::/" line of the unified hierarchy.
  const auto p = read_memory_cgroup_path(kV1Proc, kMainPid, CgroupVersion::kV2);
  ASSERT_TRUE(p) << p.error().message();
  EXPECT_EQ(p.value(), "/");
}

TEST(CgroupPath, NoMemoryLineIsMalformed) {
  const auto p = read_memory_cgroup_path(fixture("malformed/proc-missing-lines"), kMalformedPid,
                                         CgroupVersion::kV1);
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error().kind, ErrorKind::kMalformed);
}

TEST(CgroupMemoryV1, ReadsTheHierarchicalTotals) {
  const auto r = read_cgroup_memory(kV1Dir, CgroupVersion::kV1);
  ASSERT_TRUE(r) << r.error().message();
  expect_the_fixture_pod(r.value());
  EXPECT_EQ(r.value().version, CgroupVersion::kV1);
  EXPECT_EQ(r.value().oom_events, 0u);  // v1 has no such counter
  EXPECT_FALSE(r.value().pressure);
}

TEST(CgroupMemoryV1, RootHierarchyNearTwoToTheSixtyThreeIsUnlimited) {
  const auto r = read_cgroup_memory(kV1CgroupRoot + "/memory", CgroupVersion::kV1);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_FALSE(r.value().limit);
  EXPECT_EQ(r.value().usage, 1513984000u);
}

TEST(CgroupMemoryV1, UnlimitedVariant) {
  const auto r = read_cgroup_memory(fixture("malformed/cgroup-v1/unlimited"), CgroupVersion::kV1);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_FALSE(r.value().limit);
}

TEST(CgroupMemoryV1, OldKernelWithoutOomKillAndShmemIsInformationNotError) {
  const auto r = read_cgroup_memory(fixture("malformed/cgroup-v1/old-kernel"), CgroupVersion::kV1);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_FALSE(r.value().oom_kill);
  EXPECT_EQ(r.value().shmem, 0u);
  EXPECT_TRUE(r.value().optional_errors.empty());
}

TEST(CgroupMemoryV2, ReadsTheSamePod) {
  const auto r = read_cgroup_memory(kV2Dir, CgroupVersion::kV2);
  ASSERT_TRUE(r) << r.error().message();
  expect_the_fixture_pod(r.value());
  EXPECT_EQ(r.value().version, CgroupVersion::kV2);
  EXPECT_EQ(r.value().oom_events, 1u);
  ASSERT_TRUE(r.value().pressure);
  EXPECT_DOUBLE_EQ(r.value().pressure->some_avg10, 1.53);
}

TEST(CgroupMemoryV2, MaxIsUnlimited) {
  const auto r = read_cgroup_memory(fixture("malformed/cgroup-v2/unlimited"), CgroupVersion::kV2);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_FALSE(r.value().limit);
}

TEST(CgroupMemoryV2, OldKernelWithoutPeakAndPressureLeavesThemEmpty) {
  const auto r = read_cgroup_memory(fixture("malformed/cgroup-v2/old-kernel"), CgroupVersion::kV2);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_FALSE(r.value().peak);
  EXPECT_FALSE(r.value().pressure);
  EXPECT_TRUE(r.value().optional_errors.empty());
}

TEST(CgroupMemoryV2, WorkingSetIsClampedAtZero) {
  const auto r = read_cgroup_memory(fixture("malformed/cgroup-v2/inactive-above-usage"), CgroupVersion::kV2);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r.value().usage, 4096000u);
  EXPECT_EQ(r.value().working_set(), 0u);
}

TEST(CgroupMemoryV2, GarbledOptionalFilesDegradeOnlyTheirFields) {
  const auto r = read_cgroup_memory(fixture("malformed/cgroup-v2/bad-optional-files"), CgroupVersion::kV2);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r.value().usage, kUsage);
  EXPECT_FALSE(r.value().peak);
  EXPECT_FALSE(r.value().pressure);
  EXPECT_FALSE(r.value().oom_kill);
  ASSERT_EQ(r.value().optional_errors.size(), 3u);
  for (const auto& e : r.value().optional_errors) EXPECT_EQ(e.kind, ErrorKind::kMalformed);
}

TEST(CgroupMemory, VanishedDirectoryIsNotFound) {
  const auto r = read_cgroup_memory(kV2CgroupRoot + "/kubepods.slice/gone.scope", CgroupVersion::kV2);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ErrorKind::kNotFound);
}

TEST(CgroupMemory, DirectoryWithoutARequiredFileIsMalformed) {
  const auto r = read_cgroup_memory(fixture("malformed/cgroup-v1/no-stat-file"), CgroupVersion::kV1);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ErrorKind::kMalformed);
  EXPECT_NE(r.error().path.find("memory.stat"), std::string::npos);
}

TEST(CgroupMemory, WrongVersionForTheDirectoryIsMalformed) {
  const auto r = read_cgroup_memory(kV1Dir, CgroupVersion::kV2);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ErrorKind::kMalformed);
}

struct BrokenCgroup {
  const char* dir;
  CgroupVersion version;
};

class BrokenCgroupTest : public ::testing::TestWithParam<BrokenCgroup> {};

TEST_P(BrokenCgroupTest, IsMalformedNotACrash) {
  const auto r = read_cgroup_memory(fixture(GetParam().dir), GetParam().version);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ErrorKind::kMalformed) << r.error().message();
}

INSTANTIATE_TEST_SUITE_P(
    Variants, BrokenCgroupTest,
    ::testing::Values(BrokenCgroup{"malformed/cgroup-v1/truncated-usage", CgroupVersion::kV1},
                      BrokenCgroup{"malformed/cgroup-v1/missing-inactive-file", CgroupVersion::kV1},
                      BrokenCgroup{"malformed/cgroup-v1/garbled-limit", CgroupVersion::kV1},
                      BrokenCgroup{"malformed/cgroup-v1/binary-stat", CgroupVersion::kV1},
                      BrokenCgroup{"malformed/cgroup-v1/empty-usage", CgroupVersion::kV1},
                      BrokenCgroup{"malformed/cgroup-v2/truncated-stat", CgroupVersion::kV2},
                      BrokenCgroup{"malformed/cgroup-v2/missing-anon", CgroupVersion::kV2},
                      BrokenCgroup{"malformed/cgroup-v2/garbled-max", CgroupVersion::kV2},
                      BrokenCgroup{"malformed/cgroup-v2/binary-current", CgroupVersion::kV2},
                      BrokenCgroup{"malformed/cgroup-v2/empty-max", CgroupVersion::kV2}));

}  // namespace
}  // namespace ramflow::probe
