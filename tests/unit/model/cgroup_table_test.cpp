// CgroupTable: the memory facts of every worker cgroup seen; a cgroup that
// vanishes keeps its last counters so no OOM kill is lost.
#include "model/cgroup_table.h"

#include <gtest/gtest.h>

namespace ramflow::model {
namespace {

constexpr const char* kPod = "/kubepods/pod1/worker";

probe::CgroupMemory reading(std::uint64_t usage, std::uint64_t inactive_file, std::uint64_t oom_kills = 0) {
  probe::CgroupMemory m;
  m.version = probe::CgroupVersion::kV1;
  m.usage = usage;
  m.inactive_file = inactive_file;
  m.oom_kill = oom_kills;
  return m;
}

TEST(CgroupTable, GetCreatesAnEmptyEntryNamedByItsPath) {
  CgroupTable table;
  const CgroupFacts& f = table.get(kPod);
  EXPECT_EQ(f.path, kPod);
  EXPECT_FALSE(f.has_reading);
  EXPECT_EQ(table.cgroups().size(), 1u);
}

TEST(CgroupTable, RecordKeepsTheLastReadingAndWhen) {
  CgroupTable table;
  table.record(kPod, reading(500, 100, 1), 10);
  table.record(kPod, reading(700, 100, 2), 11);
  const CgroupFacts& f = table.get(kPod);
  EXPECT_TRUE(f.has_reading);
  EXPECT_EQ(f.last.usage, 700u);
  EXPECT_EQ(f.last.oom_kill, 2u);
  EXPECT_EQ(f.last_read, 11);
}

TEST(CgroupTable, RemembersTheHighestWorkingSetEverRead) {
  CgroupTable table;
  table.record(kPod, reading(900, 100), 1);  // working set 800
  table.record(kPod, reading(300, 100), 2);  // working set 200
  EXPECT_EQ(table.get(kPod).highest_working_set, 800u);
}

TEST(CgroupTable, AVanishedCgroupKeepsItsLastCounters) {
  CgroupTable table;
  table.record(kPod, reading(900, 100, 3), 1);
  table.mark_vanished(kPod, 5);
  const CgroupFacts& f = table.get(kPod);
  EXPECT_TRUE(f.vanished);
  EXPECT_EQ(f.vanished_at, 5);
  EXPECT_EQ(f.last.oom_kill, 3u);
  EXPECT_EQ(f.last.usage, 900u);
}

TEST(CgroupTable, VanishingTwiceKeepsTheFirstInstant) {
  CgroupTable table;
  table.record(kPod, reading(1, 0), 1);
  table.mark_vanished(kPod, 5);
  table.mark_vanished(kPod, 9);
  EXPECT_EQ(table.get(kPod).vanished_at, 5);
}

TEST(CgroupTable, VanishingAnUnknownCgroupAddsNothing) {
  CgroupTable table;
  table.mark_vanished(kPod, 5);
  EXPECT_TRUE(table.cgroups().empty());
}

TEST(CgroupTable, AReadingAfterVanishingBringsItBack) {
  CgroupTable table;
  table.record(kPod, reading(1, 0), 1);
  table.mark_vanished(kPod, 2);
  table.record(kPod, reading(1, 0), 3);
  EXPECT_FALSE(table.get(kPod).vanished);
}

TEST(CgroupTable, AVanishedCgroupIsKeptForKeepSecondsThenDropped) {
  CgroupTable table;
  table.record(kPod, reading(1, 0), 0);
  table.get(kPod).last_used = 100;
  table.mark_vanished(kPod, 100);
  table.expire(100 + 600, 600);
  EXPECT_EQ(table.cgroups().count(kPod), 1u);
  table.expire(100 + 601, 600);
  EXPECT_EQ(table.cgroups().count(kPod), 0u);
}

TEST(CgroupTable, ACgroupNoWatchedProcessUsesIsDroppedAfterKeepSeconds) {
  CgroupTable table;
  table.record(kPod, reading(1, 0), 0);
  table.get(kPod).last_used = 50;
  table.get("/in-use").last_used = 700;
  table.expire(700, 600);
  EXPECT_EQ(table.cgroups().count(kPod), 0u);
  EXPECT_EQ(table.cgroups().count("/in-use"), 1u);
}

}  // namespace
}  // namespace ramflow::model
