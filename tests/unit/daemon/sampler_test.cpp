// The Sampler (collect) and the whole Cycle on the real /proc + cgroup v1
// capture of tests/fixtures/e2e (a Celery prefork tree in a 192 MiB cgroup with
// one real OOM kill; see tests/fixtures/README.md), through
// --proc-root/--cgroup-root as ramflowd runs it. Tests that change the tree
// work on a copy.
#include "daemon/sampler.h"

#include "daemon/cycle.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

namespace ramflow::daemon {
namespace {

namespace fs = std::filesystem;
using Role = analysis::ProcessRole;

const std::string kFixture = std::string(RAMFLOW_FIXTURES) + "/e2e";
constexpr pid_t kMain = 12662;
constexpr pid_t kChild1 = 12663;
constexpr pid_t kChild2 = 12664;
constexpr pid_t kOddComm = 12685;  // comm "ml) job (1", a standalone python
constexpr pid_t kSleep = 12686;    // not a worker
constexpr const char* kCgroup = "/ramflow-fixture";
constexpr std::uint64_t kKiB = 1024;

config::Config config_for(const std::string& tree) {
  config::Config c;
  c.proc_root = tree + "/proc";
  c.cgroup_root = tree + "/sys/fs/cgroup";
  return c;
}

const model::ProcessView* find_process(const model::Snapshot& s, pid_t pid) {
  for (const auto& p : s.processes) {
    if (p.facts.pid == pid) return &p;
  }
  return nullptr;
}

std::vector<pid_t> pids(const model::Snapshot& s) {
  std::vector<pid_t> out;
  for (const auto& p : s.processes) out.push_back(p.facts.pid);
  return out;
}

// A sampler over the fixture as it is: one collect, or one whole published cycle.
class SamplerOnFixture : public ::testing::Test {
 protected:
  model::SnapshotPtr cycle(const config::Config& c, bool agent_processes_only = false) {
    Sampler sampler(c);
    sampler.set_agent_processes_only(agent_processes_only);
    auto snap = std::make_shared<model::Snapshot>();
    sampler.collect(*snap, agents_.view());
    return snap;
  }
  model::SnapshotPtr published(const config::Config& c) {
    Cycle cycle(c, agents_);
    cycle.run_once();
    return cycle.latest();
  }
  model::AgentRegistry agents_{64, 50};
};

// A sampler over a private copy of the fixture, for tests that remove files.
class SamplerOnCopy : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "ramflow-sampler-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    tree_ = tmpl;
    fs::copy(kFixture, tree_, fs::copy_options::recursive);
    cycle_ = std::make_unique<Cycle>(config_for(tree_), agents_);
  }
  void TearDown() override {
    cycle_.reset();
    std::error_code ec;
    fs::remove_all(tree_, ec);
  }
  model::SnapshotPtr cycle() {
    cycle_->run_once();
    return cycle_->latest();
  }
  std::string tree_;
  model::AgentRegistry agents_{64, 50};
  std::unique_ptr<Cycle> cycle_;
};

TEST_F(SamplerOnFixture, WatchesThePreforkTreeAndTheStandaloneWorkerOnlyWithRolesFromTheTree) {
  auto snap = published(config_for(kFixture));
  ASSERT_EQ(pids(*snap), (std::vector<pid_t>{kMain, kChild1, kChild2, kOddComm}));
  EXPECT_EQ(find_process(*snap, kMain)->role, Role::main);
  EXPECT_EQ(find_process(*snap, kChild1)->role, Role::child);
  EXPECT_EQ(find_process(*snap, kChild2)->role, Role::child);
  EXPECT_EQ(find_process(*snap, kOddComm)->role, Role::standalone);
  EXPECT_EQ(find_process(*snap, kOddComm)->facts.comm, "ml) job (1");
}

TEST_F(SamplerOnFixture, ReadsEachProcessRssPeakAndPss) {
  auto snap = cycle(config_for(kFixture));
  const auto& main = find_process(*snap, kMain)->facts;
  ASSERT_TRUE(main.status.has_value());
  EXPECT_EQ(main.status->vm_rss, 52448 * kKiB);
  EXPECT_EQ(main.status->vm_hwm, 58284 * kKiB);
  ASSERT_TRUE(main.smaps.has_value());
  EXPECT_EQ(main.smaps->pss, 18316 * kKiB);
  ASSERT_EQ(main.timeline.size(), 1u);
  EXPECT_EQ(main.timeline.back().rss, 52448 * kKiB);
  EXPECT_EQ(main.max_sampled_rss, 52448 * kKiB);
  EXPECT_EQ(main.cgroup, kCgroup);
}

TEST_F(SamplerOnFixture, ReadsTheWorkerCgroupWithItsOwnLimitAndPeak) {
  auto snap = cycle(config_for(kFixture));
  EXPECT_EQ(snap->cgroup_version, probe::CgroupVersion::kV1);
  ASSERT_EQ(snap->cgroups.size(), 1u);
  const auto& c = snap->cgroups[0];
  EXPECT_EQ(c.facts.path, kCgroup);
  EXPECT_EQ(c.limit.bytes, 201326592u);
  EXPECT_EQ(c.limit.source, "cgroup");
  EXPECT_EQ(c.peak, 201326592u);  // memory.max_usage_in_bytes: the kernel's peak
  EXPECT_EQ(c.facts.last.working_set(), 89300992u - 8388608u);
  EXPECT_EQ(c.facts.last.nonreclaimable(), 77672448u + 2097152u);
  EXPECT_EQ(c.facts.last.oom_kill, 1u);
}

TEST_F(SamplerOnFixture, AV1CgroupTakesTheHostPressureAndSaysSo) {
  auto snap = cycle(config_for(kFixture));
  ASSERT_EQ(snap->cgroups.size(), 1u);
  ASSERT_TRUE(snap->cgroups[0].pressure.has_value());
  EXPECT_EQ(snap->cgroups[0].pressure_scope, "host");
  EXPECT_DOUBLE_EQ(snap->cgroups[0].pressure->some_avg10, 0.24);
}

TEST_F(SamplerOnFixture, ReadsTheHostMemory) {
  auto snap = cycle(config_for(kFixture));
  ASSERT_TRUE(snap->host_memory.has_value());
  EXPECT_EQ(snap->host_memory->mem_total, 24683656 * kKiB);
  EXPECT_EQ(snap->host_memory->mem_available, 23457112 * kKiB);
}

TEST_F(SamplerOnFixture, TheRealTreeGivesNoProbeErrorAndTimesEveryProbe) {
  auto snap = cycle(config_for(kFixture));
  for (const char* source : {"discovery", "status", "smaps_rollup", "cgroup", "meminfo", "psi"}) {
    EXPECT_EQ(snap->probe_errors.at(source), 0u) << source;  // every source listed from the start, at 0
    EXPECT_EQ(snap->probe_durations.count(source), 1u) << source;
  }
}

TEST_F(SamplerOnFixture, AnUnlimitedCgroupFallsBackToTheHostLimit) {
  config::Config c = config_for(kFixture);
  c.cgroup_path = "/";  // the hierarchy's root: 9223372036854771712, unlimited
  auto snap = cycle(c);
  ASSERT_EQ(snap->cgroups.size(), 1u);
  EXPECT_EQ(snap->cgroups[0].facts.path, "/");
  EXPECT_EQ(snap->cgroups[0].limit.source, "host");
  EXPECT_EQ(snap->cgroups[0].limit.bytes, 24683656 * kKiB);
}

TEST_F(SamplerOnFixture, MaxProcessesCapsTheWatchedSetMainsFirst) {
  config::Config c = config_for(kFixture);
  c.max_processes = 2;
  auto snap = cycle(c);
  ASSERT_EQ(snap->processes.size(), 2u);
  EXPECT_EQ(snap->processes[0].facts.pid, kMain);
}

TEST_F(SamplerOnFixture, AProcessAboveSmapsMaxRssSkipsSmapsAndSaysWhy) {
  config::Config c = config_for(kFixture);
  c.smaps_max_rss = 20 * 1024 * 1024;  // the python workers hold 50-60 MiB, the odd one 9 MiB
  auto snap = cycle(c);
  const auto& main = find_process(*snap, kMain)->facts;
  EXPECT_FALSE(main.smaps.has_value());
  EXPECT_NE(main.smaps_skipped.find("--smaps-max-rss"), std::string::npos);
  EXPECT_TRUE(find_process(*snap, kOddComm)->facts.smaps.has_value());
}

TEST_F(SamplerOnFixture, InServeAProcessTheRegexMissesIsNotWatchedEvenWithAnAgent) {
  agents_.connected(kSleep, 0, 1);
  auto snap = cycle(config_for(kFixture));
  EXPECT_EQ(find_process(*snap, kSleep), nullptr);
  EXPECT_NE(find_process(*snap, kMain), nullptr);
}

TEST_F(SamplerOnFixture, AgentProcessesOnlyWatchesJustTheProcessesWhoseAgentConnected) {
  agents_.connected(kChild1, 0, 1);
  EXPECT_EQ(pids(*cycle(config_for(kFixture), /*agent_processes_only=*/true)), (std::vector<pid_t>{kChild1}));
}

TEST_F(SamplerOnFixture, AnAgentsFactsJoinItsProcessUnderItsWorkerName) {
  agents_.connected(kChild1, 0, 1);
  agents_.hello(kChild1, {"0.1.0", "3.11.2", "celery", "prefork", "celery@fixture/1"}, 1);
  auto snap = cycle(config_for(kFixture));
  const auto* child = find_process(*snap, kChild1);
  ASSERT_TRUE(child->agent.has_value());
  EXPECT_EQ(child->worker, "celery@fixture/1");
  EXPECT_FALSE(find_process(*snap, kChild2)->agent.has_value());
  EXPECT_EQ(find_process(*snap, kChild2)->worker, "");
}

TEST_F(SamplerOnFixture, NothingIsPublishedBeforeTheFirstCycle) {
  Cycle cycle(config_for(kFixture), agents_);
  EXPECT_EQ(cycle.latest(), nullptr);
  cycle.run_once();
  EXPECT_EQ(cycle.latest()->cycle, 1u);
  cycle.run_once();
  EXPECT_EQ(cycle.latest()->cycle, 2u);
}

TEST_F(SamplerOnFixture, TheCycleAnalysesWhatItCollectedBeforePublishing) {
  auto snap = published(config_for(kFixture));
  ASSERT_EQ(snap->cgroups.size(), 1u);
  const auto& a = snap->cgroups[0].analysis;
  EXPECT_DOUBLE_EQ(a.margins.limit_bytes, 201326592.0);
  EXPECT_EQ(a.scope, model::FigureScope::cgroup);  // the workers hold the cgroup
  ASSERT_EQ(a.groups.size(), 2u);                  // the prefork tree and the odd standalone
  EXPECT_EQ(a.groups[0].main, kMain);
  EXPECT_GE(a.footprint.bytes, 58284.0 * kKiB);  // at least the largest VmHWM
  EXPECT_LE(a.recommended_request.bytes, a.recommended_limit.bytes);
  EXPECT_TRUE(snap->configuration);
}

TEST_F(SamplerOnCopy, AnExitedProcessIsRememberedWithItsLastReadingAndItsAgentForgotten) {
  agents_.connected(kChild2, 0, 1);
  agents_.task_started(kChild2, "tasks.resize", 1);
  cycle();
  fs::remove_all(tree_ + "/proc/" + std::to_string(kChild2));
  auto snap = cycle();
  EXPECT_EQ(find_process(*snap, kChild2), nullptr);
  const auto& exited = snap->cgroups[0].analysis.exited;
  ASSERT_EQ(exited.size(), 1u);
  EXPECT_EQ(exited[0].pid, kChild2);
  EXPECT_EQ(exited[0].last_rss_bytes, 59672 * kKiB);  // its last reading
  EXPECT_EQ(exited[0].role, Role::child);
  EXPECT_EQ(exited[0].group_main, kMain);
  EXPECT_EQ(exited[0].last_task, "tasks.resize");
  EXPECT_EQ(agents_.view().processes.count(kChild2), 0u);
}

TEST_F(SamplerOnCopy, CollectHandsBackTheProcessesThatExited) {
  Sampler sampler(config_for(tree_));
  model::Snapshot first, second;
  sampler.collect(first, agents_.view());
  fs::remove_all(tree_ + "/proc/" + std::to_string(kChild2));
  auto gone = sampler.collect(second, agents_.view());
  ASSERT_EQ(gone.size(), 1u);
  EXPECT_EQ(gone[0].pid, kChild2);
  EXPECT_EQ(gone[0].cgroup, kCgroup);
}

// A shell that moves itself into a cgroup and then execs the worker: the cgroup
// read before the exec is stale at once, not kCgroupRecheckSeconds later.
void move_to(const std::string& tree, pid_t pid, const std::string& cgroup, const std::string& name) {
  const std::string dir = tree + "/proc/" + std::to_string(pid);
  std::ifstream in(dir + "/cgroup");
  std::string line, cgroups;
  while (std::getline(in, line)) {
    cgroups += (line.find(":memory:") != std::string::npos ? line.substr(0, line.find(":memory:")) + ":memory:" + cgroup : line) + "\n";
  }
  in.close();
  std::ofstream(dir + "/cgroup") << cgroups;
  std::ifstream st(dir + "/status");
  std::string status((std::istreambuf_iterator<char>(st)), std::istreambuf_iterator<char>());
  st.close();
  status.replace(status.find("Name:\t") + 6, status.find('\n') - (status.find("Name:\t") + 6), name);
  std::ofstream(dir + "/status") << status;
}

TEST_F(SamplerOnCopy, AnExecRereadsTheCgroupAtOnce) {
  Sampler sampler(config_for(tree_));
  model::Snapshot first, moved, execed;
  sampler.collect(first, agents_.view());
  ASSERT_EQ(find_process(first, kChild1)->facts.cgroup, kCgroup);
  fs::copy(tree_ + "/sys/fs/cgroup/memory/ramflow-fixture", tree_ + "/sys/fs/cgroup/memory/moved");
  move_to(tree_, kChild1, "/moved", "python3");  // moved, same program: kept until the recheck
  sampler.collect(moved, agents_.view());
  EXPECT_EQ(find_process(moved, kChild1)->facts.cgroup, kCgroup);
  move_to(tree_, kChild1, "/moved", "celery");  // exec'd: read again now
  sampler.collect(execed, agents_.view());
  EXPECT_EQ(find_process(execed, kChild1)->facts.cgroup, "/moved");
  EXPECT_EQ(find_process(execed, kChild1)->facts.comm, "celery");
}

TEST_F(SamplerOnCopy, AVanishedCgroupKeepsItsLastCounters) {
  cycle();
  fs::remove_all(tree_ + "/sys/fs/cgroup/memory/ramflow-fixture");
  auto snap = cycle();
  ASSERT_EQ(snap->cgroups.size(), 1u);
  EXPECT_TRUE(snap->cgroups[0].facts.vanished);
  EXPECT_EQ(snap->cgroups[0].facts.last.oom_kill, 1u);
  EXPECT_EQ(snap->cgroups[0].facts.last.usage, 89300992u);
  for (const auto& [source, n] : snap->probe_errors) EXPECT_EQ(n, 0u) << source;  // vanishing is information, not an error
}

TEST_F(SamplerOnCopy, AMalformedStatusIsCountedAndTheProcessKept) {
  cycle();
  std::ofstream(tree_ + "/proc/" + std::to_string(kChild1) + "/status", std::ios::trunc) << "Name:\tpython3\nVmRSS:\tx kB\n";
  auto snap = cycle();
  EXPECT_EQ(snap->probe_errors.at("status"), 1u);
  const auto* child = find_process(*snap, kChild1);
  ASSERT_NE(child, nullptr);
  ASSERT_TRUE(child->facts.status.has_value());
  EXPECT_EQ(child->facts.status->vm_rss, 59672 * kKiB);  // the last good reading
}

TEST_F(SamplerOnCopy, EachCycleAddsOneTimelineSample) {
  for (int i = 0; i < 3; ++i) cycle();
  EXPECT_EQ(find_process(*cycle_->latest(), kMain)->facts.timeline.size(), 3u);
}

}  // namespace
}  // namespace ramflow::daemon
