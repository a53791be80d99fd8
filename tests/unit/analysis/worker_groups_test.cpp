#include "analysis/worker_groups.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

namespace ramflow::analysis {
namespace {

TEST(WorkerGroups, ACeleryMainAndItsChildren) {
  const std::vector<ProcessNode> nodes = {{100, 1, true}, {101, 100, true}, {102, 100, true}};
  const auto t = worker_groups(nodes);
  ASSERT_EQ(t.groups.size(), 1u);
  EXPECT_EQ(t.groups[0].main, 100);
  EXPECT_EQ(t.groups[0].members, (std::vector<pid_t>{100, 101, 102}));
  EXPECT_EQ(t.roles.at(100), ProcessRole::main);
  EXPECT_EQ(t.roles.at(101), ProcessRole::child);
}

TEST(WorkerGroups, AChildForkedAfterAPidWrapIsStillAChild) {
  // The main has pid 30000; its recycled child got pid 300 after the pid space wrapped.
  const std::vector<ProcessNode> nodes = {{300, 30000, true}, {30000, 1, true}, {30001, 30000, true}};
  const auto t = worker_groups(nodes);
  ASSERT_EQ(t.groups.size(), 1u);
  EXPECT_EQ(t.groups[0].main, 30000);
  EXPECT_EQ(t.roles.at(300), ProcessRole::child);
  EXPECT_EQ(t.roles.at(30000), ProcessRole::main);
  EXPECT_EQ(t.groups[0].members, (std::vector<pid_t>{30000, 300, 30001}));
}

TEST(WorkerGroups, AWrapperWithoutAgentIsSeenThrough) {
  // tini (no agent) -> celery main (agent) -> two children.
  const std::vector<ProcessNode> nodes = {{1, 0, false}, {7, 1, true}, {8, 7, true}, {9, 7, true}};
  const auto t = worker_groups(nodes);
  ASSERT_EQ(t.groups.size(), 1u);
  EXPECT_EQ(t.groups[0].main, 7);
  EXPECT_EQ(t.groups[0].members, (std::vector<pid_t>{7, 1, 8, 9}));
  EXPECT_EQ(t.roles.at(1), ProcessRole::wrapper);
  EXPECT_EQ(t.roles.at(7), ProcessRole::main);
  EXPECT_EQ(t.roles.at(9), ProcessRole::child);
}

TEST(WorkerGroups, WithoutAnyAgentTheTopProcessLeads) {
  const std::vector<ProcessNode> nodes = {{1, 0, false}, {7, 1, false}, {8, 7, false}};
  const auto t = worker_groups(nodes);
  ASSERT_EQ(t.groups.size(), 1u);
  EXPECT_EQ(t.groups[0].main, 1);
  EXPECT_EQ(t.roles.at(7), ProcessRole::child);
}

TEST(WorkerGroups, UnrelatedProcessesStandAlone) {
  const std::vector<ProcessNode> nodes = {{10, 1, true}, {20, 1, false}};
  const auto t = worker_groups(nodes);
  ASSERT_EQ(t.groups.size(), 2u);
  EXPECT_EQ(t.roles.at(10), ProcessRole::standalone);
  EXPECT_EQ(t.roles.at(20), ProcessRole::standalone);
}

TEST(WorkerGroups, GrandchildrenJoinTheGroup) {
  const std::vector<ProcessNode> nodes = {{10, 1, true}, {11, 10, true}, {12, 11, false}};
  const auto t = worker_groups(nodes);
  ASSERT_EQ(t.groups.size(), 1u);
  EXPECT_EQ(t.roles.at(12), ProcessRole::child);
}

TEST(WorkerGroups, OddInputNeitherLoopsNorRepeats) {
  // A ppid cycle (read across a pid reuse) and a duplicate pid.
  const std::vector<ProcessNode> nodes = {{5, 6, true}, {6, 5, true}, {7, 7, false}, {7, 7, false}};
  const auto t = worker_groups(nodes);
  std::vector<pid_t> all;
  for (const auto& g : t.groups) all.insert(all.end(), g.members.begin(), g.members.end());
  std::sort(all.begin(), all.end());
  EXPECT_EQ(all, (std::vector<pid_t>{5, 6, 7}));
  EXPECT_EQ(t.roles.size(), 3u);
}

}  // namespace
}  // namespace ramflow::analysis
