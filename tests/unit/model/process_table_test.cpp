// ProcessTable::reconcile: new processes join, the gone are handed back with
// their facts (for the OOM tracker), a reused pid is a new process.
#include "model/process_table.h"

#include <gtest/gtest.h>


namespace ramflow::model {
namespace {

using Role = probe::DiscoveredProcess::Role;

Candidate candidate(pid_t pid, std::uint64_t start_ticks, Role role = Role::kStandalone, pid_t ppid = 1) {
  Candidate c;
  c.process.pid = pid;
  c.process.ppid = ppid;
  c.process.start_time_ticks = start_ticks;
  c.process.comm = "python3";
  c.process.cmdline = {"/usr/bin/python3", "-m", "celery"};
  c.process.role = role;
  return c;
}

std::vector<pid_t> pids(const ProcessTable& table) {
  std::vector<pid_t> out;
  for (const auto& [pid, p] : table.processes()) out.push_back(pid);
  return out;
}

TEST(ProcessTable, NewCandidatesJoinWithTheirDiscoveredFacts) {
  ProcessTable table;
  auto gone = table.reconcile({candidate(10, 500, Role::kMain), candidate(11, 600, Role::kChild, 10)}, 42);
  EXPECT_TRUE(gone.empty());
  ASSERT_EQ(pids(table), (std::vector<pid_t>{10, 11}));
  const ProcessFacts* child = table.find(11);
  ASSERT_NE(child, nullptr);
  EXPECT_EQ(child->ppid, 10);
  EXPECT_EQ(child->start_ticks, 600u);
  EXPECT_EQ(child->comm, "python3");
  EXPECT_EQ(child->cmdline.size(), 3u);
  EXPECT_EQ(child->first_seen, 42);
}

TEST(ProcessTable, AProcessNoLongerACandidateIsHandedBackWithItsFacts) {
  ProcessTable table;
  table.reconcile({candidate(10, 500), candidate(11, 600)}, 1);
  table.find(11)->timeline.push({1, 4096});
  auto gone = table.reconcile({candidate(10, 500)}, 2);
  ASSERT_EQ(gone.size(), 1u);
  EXPECT_EQ(gone[0].pid, 11);
  ASSERT_EQ(gone[0].timeline.size(), 1u);
  EXPECT_EQ(gone[0].timeline.back().rss, 4096u);
  EXPECT_EQ(pids(table), (std::vector<pid_t>{10}));
}

TEST(ProcessTable, AStayingProcessKeepsWhatWasSampled) {
  ProcessTable table;
  table.reconcile({candidate(10, 500)}, 1);
  table.find(10)->timeline.push({1, 4096});
  table.find(10)->max_sampled_rss = 4096;
  table.reconcile({candidate(10, 500)}, 2);
  EXPECT_EQ(table.find(10)->timeline.size(), 1u);
  EXPECT_EQ(table.find(10)->max_sampled_rss, 4096u);
  EXPECT_EQ(table.find(10)->first_seen, 1);
}

TEST(ProcessTable, AReusedPidIsANewProcessAndTheOldOneIsHandedBack) {
  ProcessTable table;
  table.reconcile({candidate(10, 500)}, 1);
  table.find(10)->max_sampled_rss = 999;
  auto gone = table.reconcile({candidate(10, 777)}, 2);
  ASSERT_EQ(gone.size(), 1u);
  EXPECT_EQ(gone[0].start_ticks, 500u);
  EXPECT_EQ(gone[0].max_sampled_rss, 999u);
  const ProcessFacts* now = table.find(10);
  ASSERT_NE(now, nullptr);
  EXPECT_EQ(now->start_ticks, 777u);
  EXPECT_EQ(now->max_sampled_rss, 0u);
  EXPECT_EQ(now->first_seen, 2);
}

TEST(ProcessTable, ParentAndAgentOnlyFollowTheLatestCandidate) {
  ProcessTable table;
  table.reconcile({candidate(10, 500, Role::kStandalone)}, 1);
  Candidate c = candidate(10, 500, Role::kChild, 9);
  c.via_agent_only = true;
  table.reconcile({c}, 2);
  EXPECT_EQ(table.find(10)->ppid, 9);
  EXPECT_TRUE(table.find(10)->via_agent_only);
}

TEST(ProcessTable, AnEmptyCandidateListEmptiesTheTable) {
  ProcessTable table;
  table.reconcile({candidate(10, 500), candidate(11, 600), candidate(12, 700)}, 1);
  auto gone = table.reconcile({}, 2);
  EXPECT_EQ(gone.size(), 3u);
  EXPECT_TRUE(table.processes().empty());
}

TEST(ProcessTable, FindReturnsNullForAnUnwatchedPid) {
  ProcessTable table;
  table.reconcile({candidate(10, 500)}, 1);
  EXPECT_EQ(table.find(11), nullptr);
}

}  // namespace
}  // namespace ramflow::model
