// The Sampler's cycle on the real /proc + cgroup v1 capture of
// tests/fixtures/e2e (a Celery prefork tree in a 192 MiB cgroup with one real
// OOM kill; see tests/fixtures/README.md), through --proc-root/--cgroup-root as
// ramflowd runs it. Tests that change the tree work on a copy.
#include "daemon/sampler.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

namespace ramflow::daemon {
namespace {

namespace fs = std::filesystem;
using Role = probe::DiscoveredProcess::Role;

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

// A sampler over the fixture as it is, one cycle run.
class SamplerOnFixture : public ::testing::Test {
 protected:
  model::SnapshotPtr cycle(const config::Config& c) {
    Sampler sampler(c, agents_);
    sampler.cycle_once();
    return sampler.latest();
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
    sampler_ = std::make_unique<Sampler>(config_for(tree_), agents_);
    sampler_->set_enricher([this](model::Snapshot&, const std::vector<model::ProcessFacts>& vanished,
                                  const model::AgentView&) { vanished_ = vanished; });
  }
  void TearDown() override {
    sampler_.reset();
    std::error_code ec;
    fs::remove_all(tree_, ec);
  }
  model::SnapshotPtr cycle() {
    sampler_->cycle_once();
    return sampler_->latest();
  }
  std::string tree_;
  model::AgentRegistry agents_{64, 50};
  std::unique_ptr<Sampler> sampler_;
  std::vector<model::ProcessFacts> vanished_;
};

TEST_F(SamplerOnFixture, WatchesThePreforkTreeAndTheStandaloneWorkerOnly) {
  auto snap = cycle(config_for(kFixture));
  ASSERT_EQ(pids(*snap), (std::vector<pid_t>{kMain, kChild1, kChild2, kOddComm}));
  EXPECT_EQ(find_process(*snap, kMain)->facts.role, Role::kMain);
  EXPECT_EQ(find_process(*snap, kChild1)->facts.role, Role::kChild);
  EXPECT_EQ(find_process(*snap, kChild2)->facts.role, Role::kChild);
  EXPECT_EQ(find_process(*snap, kOddComm)->facts.role, Role::kStandalone);
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
  EXPECT_TRUE(snap->probe_errors.empty());
  for (const char* source : {"discovery", "status", "smaps_rollup", "cgroup", "meminfo", "psi"}) {
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

TEST_F(SamplerOnFixture, AConnectedAgentsProcessIsWatchedThoughTheRegexMissesIt) {
  agents_.connected(kSleep, 0, 1);
  auto snap = cycle(config_for(kFixture));
  const auto* sleep = find_process(*snap, kSleep);
  ASSERT_NE(sleep, nullptr);
  EXPECT_TRUE(sleep->facts.via_agent_only);
  EXPECT_EQ(sleep->facts.role, Role::kStandalone);
  EXPECT_FALSE(find_process(*snap, kMain)->facts.via_agent_only);
}

TEST_F(SamplerOnFixture, AgentProcessesOnlyWatchesJustTheProcessesWhoseAgentConnected) {
  agents_.connected(kChild1, 0, 1);
  Sampler sampler(config_for(kFixture), agents_);
  sampler.set_agent_processes_only(true);
  sampler.cycle_once();
  EXPECT_EQ(pids(*sampler.latest()), (std::vector<pid_t>{kChild1}));
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

TEST_F(SamplerOnFixture, ReadyOnlyOnceACycleHasBeenPublished) {
  Sampler sampler(config_for(kFixture), agents_);
  EXPECT_FALSE(sampler.ready());
  EXPECT_EQ(sampler.latest(), nullptr);
  sampler.cycle_once();
  EXPECT_TRUE(sampler.ready());
  EXPECT_EQ(sampler.latest()->cycle, 1u);
  sampler.cycle_once();
  EXPECT_EQ(sampler.latest()->cycle, 2u);
}

TEST_F(SamplerOnFixture, TheEnricherSeesTheSnapshotBeforeItIsPublished) {
  Sampler sampler(config_for(kFixture), agents_);
  std::size_t seen_processes = 0;
  sampler.set_enricher([&](model::Snapshot& s, const std::vector<model::ProcessFacts>&, const model::AgentView&) {
    seen_processes = s.processes.size();
    s.ebpf_status = "set by the enricher";
  });
  sampler.cycle_once();
  EXPECT_EQ(seen_processes, 4u);
  EXPECT_EQ(sampler.latest()->ebpf_status, "set by the enricher");
}

TEST_F(SamplerOnCopy, AnExitedProcessIsHandedToTheEnricherAndItsAgentForgotten) {
  agents_.connected(kChild2, 0, 1);
  agents_.task_started(kChild2, "tasks.resize", 1);
  cycle();
  fs::remove_all(tree_ + "/proc/" + std::to_string(kChild2));
  auto snap = cycle();
  EXPECT_EQ(find_process(*snap, kChild2), nullptr);
  ASSERT_EQ(vanished_.size(), 1u);
  EXPECT_EQ(vanished_[0].pid, kChild2);
  EXPECT_EQ(vanished_[0].status->vm_rss, 59672 * kKiB);  // its last reading, for the OOM record
  EXPECT_EQ(vanished_[0].cgroup, kCgroup);
  EXPECT_EQ(agents_.view().processes.count(kChild2), 0u);
}

TEST_F(SamplerOnCopy, AVanishedCgroupKeepsItsLastCounters) {
  cycle();
  fs::remove_all(tree_ + "/sys/fs/cgroup/memory/ramflow-fixture");
  auto snap = cycle();
  ASSERT_EQ(snap->cgroups.size(), 1u);
  EXPECT_TRUE(snap->cgroups[0].facts.vanished);
  EXPECT_EQ(snap->cgroups[0].facts.last.oom_kill, 1u);
  EXPECT_EQ(snap->cgroups[0].facts.last.usage, 89300992u);
  EXPECT_TRUE(snap->probe_errors.empty());  // vanishing is information, not an error
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
  EXPECT_EQ(find_process(*sampler_->latest(), kMain)->facts.timeline.size(), 3u);
}

}  // namespace
}  // namespace ramflow::daemon
