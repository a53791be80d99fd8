// The `worker` label: the agent's name when it is free, else a slot by role
// that stays with the process and passes to a recycled child's replacement, so
// a Celery pod recycling children forever uses a fixed set of names.
#include "model/worker_identity.h"

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <vector>

namespace ramflow::model {
namespace {

struct Proc {
  pid_t pid;
  pid_t ppid;
  std::uint64_t start;
  std::string agent_name = "";  // none: no agent
  bool has_agent = false;
};

class WorkerIdentitiesTest : public ::testing::Test {
 protected:
  // One sampling cycle over these processes (one cgroup): roles from the tree, then names.
  std::map<pid_t, std::string> cycle(const std::vector<Proc>& procs) {
    std::vector<analysis::ProcessNode> nodes;
    for (const auto& p : procs) nodes.push_back({p.pid, p.ppid, p.has_agent || !p.agent_name.empty()});
    return cycle_with(procs, analysis::worker_groups(nodes));
  }

  std::map<pid_t, std::string> cycle_with(const std::vector<Proc>& procs, const analysis::ProcessTree& tree) {
    std::vector<ProcessView> views;
    for (const auto& p : procs) {
      ProcessView v;
      v.facts.pid = p.pid;
      v.facts.ppid = p.ppid;
      v.facts.start_ticks = p.start;
      v.role = tree.roles.at(p.pid);
      if (p.has_agent || !p.agent_name.empty()) {
        v.agent = AgentFacts{};
        v.agent->hello = AgentHello{"0.1.0", "3.11", "", "", p.agent_name};
      }
      views.push_back(v);
    }
    names_.assign(views, tree.groups);
    std::map<pid_t, std::string> out;
    std::set<std::string> unique;
    for (const auto& v : views) {
      out[v.facts.pid] = v.worker;
      EXPECT_TRUE(unique.insert(v.worker).second) << "two processes named " << v.worker;
    }
    return out;
  }

  WorkerIdentities names_;
};

TEST_F(WorkerIdentitiesTest, APreforkGroupWithoutAgentsIsNamedMainAndChildSlotsInStartOrder) {
  auto n = cycle({{100, 1, 10}, {105, 100, 12}, {103, 100, 11}, {300, 1, 5}});
  EXPECT_EQ(n[100], "main");
  EXPECT_EQ(n[103], "child/1");
  EXPECT_EQ(n[105], "child/2");
  EXPECT_EQ(n[300], "standalone");
}

TEST_F(WorkerIdentitiesTest, ARecycledChildsSlotGoesToItsReplacement) {
  cycle({{100, 1, 10}, {101, 100, 11}, {102, 100, 12}, {103, 100, 13}});
  // 102 (child/2) is recycled; its replacement 110 appears in the same cycle.
  auto n = cycle({{100, 1, 10}, {101, 100, 11}, {103, 100, 13}, {110, 100, 20}});
  EXPECT_EQ(n[110], "child/2");
  // 101 (child/1) ends; its replacement only shows up a cycle later.
  cycle({{100, 1, 10}, {103, 100, 13}, {110, 100, 20}});
  n = cycle({{100, 1, 10}, {103, 100, 13}, {110, 100, 20}, {111, 100, 21}});
  EXPECT_EQ(n[111], "child/1");
  EXPECT_EQ(n[103], "child/3");
  EXPECT_EQ(n[110], "child/2");
}

TEST_F(WorkerIdentitiesTest, EndlessRecyclingUsesAFixedSetOfNames) {
  std::set<std::string> seen;
  pid_t next = 1000;
  std::vector<Proc> children = {{101, 100, 1}, {102, 100, 2}, {103, 100, 3}, {104, 100, 4}};
  for (int round = 0; round < 1000; ++round) {
    children[round % 4] = {next, 100, static_cast<std::uint64_t>(next)};  // one child recycled per cycle
    ++next;
    std::vector<Proc> all = {{100, 1, 0}};
    all.insert(all.end(), children.begin(), children.end());
    for (const auto& [pid, name] : cycle(all)) seen.insert(name);
  }
  EXPECT_EQ(seen, (std::set<std::string>{"main", "child/1", "child/2", "child/3", "child/4"}));
}

TEST_F(WorkerIdentitiesTest, AnAgentsNameIsTheWorkerAndItsHolderKeepsItAgainstAForkedChild) {
  auto n = cycle({{100, 1, 10, "celery@host"}, {101, 100, 11, "celery@host/1"}});
  EXPECT_EQ(n[100], "celery@host");
  EXPECT_EQ(n[101], "celery@host/1");
  // A new child still carries its parent's name until its worker_process_init renames it.
  n = cycle({{100, 1, 10, "celery@host"}, {101, 100, 11, "celery@host/1"}, {102, 100, 12, "celery@host"}});
  EXPECT_EQ(n[100], "celery@host");
  EXPECT_EQ(n[102], "child/1");
  n = cycle({{100, 1, 10, "celery@host"}, {101, 100, 11, "celery@host/1"}, {102, 100, 12, "celery@host/2"}});
  EXPECT_EQ(n[102], "celery@host/2");
}

TEST_F(WorkerIdentitiesTest, OfTwoNewcomersClaimingOneNameTheOlderTakesIt) {
  auto n = cycle({{200, 1, 30, "batch"}, {100, 1, 10, "batch"}});
  EXPECT_EQ(n[100], "batch");
  EXPECT_EQ(n[200], "standalone");
  // The holder keeps it even when an older claimant comes later (a pid seen late).
  n = cycle({{200, 1, 30, "batch"}, {100, 1, 10, "batch"}, {50, 1, 1, "batch"}});
  EXPECT_EQ(n[100], "batch");
  EXPECT_EQ(n[50], "standalone/2");
}

TEST_F(WorkerIdentitiesTest, AnAgentWithoutANameGetsASlot) {
  Proc unnamed{100, 1, 10, "", true};
  EXPECT_EQ(cycle({unnamed})[100], "standalone");
}

TEST_F(WorkerIdentitiesTest, NamesAreUniqueAcrossGroupsAndEachGroupGetsItsOwnSlotsBack) {
  // Two prefork groups in the pod (two cgroups on a laptop, or two mains in one).
  std::vector<Proc> procs = {{100, 1, 1}, {101, 100, 2}, {200, 1, 3}, {201, 200, 4}};
  auto n = cycle(procs);
  EXPECT_EQ(n[100], "main");
  EXPECT_EQ(n[200], "main/2");
  EXPECT_EQ(n[101], "child/1");
  EXPECT_EQ(n[201], "child/2");
  // Both children recycled at once: each replacement takes its own group's slot.
  n = cycle({{100, 1, 1}, {200, 1, 3}, {211, 200, 9}, {111, 100, 10}});
  EXPECT_EQ(n[111], "child/1");
  EXPECT_EQ(n[211], "child/2");
}

TEST_F(WorkerIdentitiesTest, AProcessTakesTheSlotOfItsNewRoleWhenItForks) {
  EXPECT_EQ(cycle({{100, 1, 1}})[100], "standalone");
  auto n = cycle({{100, 1, 1}, {101, 100, 2}});
  EXPECT_EQ(n[100], "main");
  EXPECT_EQ(n[101], "child/1");
}

TEST_F(WorkerIdentitiesTest, AWrapperIsNamedByItsRole) {
  // tini (no agent) started the Celery main, which has one.
  auto n = cycle({{1, 0, 1}, {7, 1, 2, "celery@host"}, {8, 7, 3, "celery@host/1"}});
  EXPECT_EQ(n[1], "wrapper");
  EXPECT_EQ(n[7], "celery@host");
}

TEST_F(WorkerIdentitiesTest, AReusedPidIsANewProcess) {
  cycle({{100, 1, 1}, {101, 100, 2}, {102, 100, 3}});
  // 101 ended and its pid came back as a new child: it is a new process, not the old child/1.
  auto n = cycle({{100, 1, 1}, {102, 100, 3}, {101, 100, 50}});
  EXPECT_EQ(n[101], "child/1");
  EXPECT_EQ(n[102], "child/2");
}

}  // namespace
}  // namespace ramflow::model
