#include "probe/discovery.h"

#include <gtest/gtest.h>

#include "fixture.h"

namespace ramflow::probe {
namespace {

using namespace fx;
using Role = DiscoveredProcess::Role;

const std::regex kWorkers("python|celery|gunicorn|uwsgi");

std::vector<pid_t> pids_of(const DiscoveryResult& r) {
  std::vector<pid_t> out;
  for (const auto& p : r.processes) out.push_back(p.pid);
  return out;
}

TEST(Discovery, FindsThePreforkTreeAndAStandaloneWorker) {
  const auto r = discover_processes(kV1Proc, kWorkers, 64, -1);
  EXPECT_TRUE(r.errors.empty());
  EXPECT_EQ(r.matched_total, 4u);
  ASSERT_EQ(pids_of(r), (std::vector<pid_t>{kMainPid, kChild1Pid, kChild2Pid, kOddCommPid}));
  EXPECT_EQ(r.processes[0].role, Role::kMain);
  EXPECT_EQ(r.processes[1].role, Role::kChild);
  EXPECT_EQ(r.processes[2].role, Role::kChild);
  EXPECT_EQ(r.processes[3].role, Role::kStandalone);
  EXPECT_EQ(r.processes[1].ppid, kMainPid);
  EXPECT_EQ(r.processes[0].start_time_ticks, 56966u);
  EXPECT_EQ(r.processes[3].comm, "ml) job (1");
  EXPECT_EQ(r.processes[0].cmdline.at(2), "celery");
}

TEST(Discovery, SkipsKernelThreadsEvenWhenTheyMatch) {
  const auto r = discover_processes(kV1Proc, std::regex("kthreadd|^sleep"), 64, -1);
  EXPECT_EQ(pids_of(r), (std::vector<pid_t>{kSleepPid}));
  EXPECT_EQ(r.processes[0].role, Role::kStandalone);
}

TEST(Discovery, SkipsItself) {
  const auto r = discover_processes(kV1Proc, kWorkers, 64, kChild1Pid);
  EXPECT_EQ(pids_of(r), (std::vector<pid_t>{kMainPid, kChild2Pid, kOddCommPid}));
  EXPECT_EQ(r.processes[0].role, Role::kMain);
}

TEST(Discovery, MatchesCommAlone) {
  const auto r = discover_processes(kV1Proc, std::regex(R"(^ml\) job)"), 64, -1);
  EXPECT_EQ(pids_of(r), (std::vector<pid_t>{kOddCommPid}));
}

TEST(Discovery, MatchesTheJoinedCmdline) {
  const auto r = discover_processes(kV1Proc, std::regex("-A proj worker"), 64, -1);
  EXPECT_EQ(pids_of(r), (std::vector<pid_t>{kMainPid, kChild1Pid, kChild2Pid}));
}

TEST(Discovery, CapKeepsMainsFirstThenTheOldest) {
  const auto r = discover_processes(kV1Proc, kWorkers, 2, -1);
  EXPECT_EQ(r.matched_total, 4u);
  EXPECT_EQ(pids_of(r), (std::vector<pid_t>{kMainPid, kChild1Pid}));
}

TEST(Discovery, WithoutTheMainChildrenAreStandalone) {
  const auto r = discover_processes(kV1Proc, kWorkers, 64, kMainPid);
  ASSERT_EQ(pids_of(r), (std::vector<pid_t>{kChild1Pid, kChild2Pid, kOddCommPid}));
  for (const auto& p : r.processes) EXPECT_EQ(p.role, Role::kStandalone);
  EXPECT_EQ(to_string(Role::kMain), "main");
  EXPECT_EQ(to_string(Role::kChild), "child");
  EXPECT_EQ(to_string(Role::kStandalone), "standalone");
}

TEST(Discovery, UnreadableProcRootIsReportedNotThrown) {
  const auto r = discover_processes(fixture("no-such-proc"), kWorkers, 64, -1);
  EXPECT_TRUE(r.processes.empty());
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].kind, ErrorKind::kNotFound);
}

TEST(Discovery, MalformedStatIsAnErrorAndTheProcessIsSkipped) {
  const auto r = discover_processes(fixture("malformed/proc-garbled-number"), kWorkers, 64, -1);
  EXPECT_TRUE(r.processes.empty());
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].kind, ErrorKind::kMalformed);
}

}  // namespace
}  // namespace ramflow::probe
