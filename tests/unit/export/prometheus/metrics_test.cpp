// The /metrics exposition of a hand-made snapshot: what a series' presence
// means (absent = unknown or gone), escaping, and that Prometheus' own linter
// (promtool check metrics) accepts every family, including the agent-fed ones
// the golden fixture trees cannot show.
#include "export/prometheus/metrics.h"

#include <gtest/gtest.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <map>
#include <sstream>

namespace ramflow::exporter {
namespace {

constexpr double kMiB = 1024.0 * 1024.0;
constexpr const char* kPod = "/kubepods/pod1/worker";

model::ProcessView process(pid_t pid, analysis::ProcessRole role, const std::string& worker) {
  model::ProcessView p;
  p.facts.pid = pid;
  p.role = role;
  p.facts.status = probe::ProcStatus{};
  p.facts.status->vm_rss = static_cast<std::uint64_t>(80 * kMiB);
  p.facts.status->vm_hwm = static_cast<std::uint64_t>(90 * kMiB);
  p.worker = worker;
  return p;
}

// A prefork pod with agents: every family of the contract has a sample.
model::Snapshot celery_pod() {
  model::Snapshot s;
  s.time = 1777889700;
  s.cgroup_version = probe::CgroupVersion::kV1;
  model::CgroupView c;
  c.facts.path = kPod;
  c.facts.has_reading = true;
  c.facts.last.usage = static_cast<std::uint64_t>(300 * kMiB);
  c.facts.last.anon = static_cast<std::uint64_t>(250 * kMiB);
  c.limit = {static_cast<std::uint64_t>(512 * kMiB), "cgroup"};
  c.peak = static_cast<std::uint64_t>(320 * kMiB);
  c.pressure = probe::Psi{};
  c.pressure->some_avg10 = 1.5;
  c.pressure_scope = "host";
  c.analysis.margins.safety = 0.41;
  c.analysis.margins.nonreclaimable = 0.51;
  c.analysis.time_to_oom = analysis::TimeToOom{3600, 70000, 0.99};
  c.analysis.recommended_limit = {400 * kMiB, "peak x 1.2"};
  c.analysis.recommended_request = {350 * kMiB, "p90 x 1.15"};
  c.analysis.celery = analysis::CeleryRecommendation{100 * kMiB, 102400, "budget", false, ""};
  s.cgroups.push_back(c);

  auto main = process(4100, analysis::ProcessRole::main, "celery@host");
  main.agent = model::AgentFacts{};
  main.agent->imports = {{"django", static_cast<std::uint64_t>(30 * kMiB)}};
  main.analysis.layers = analysis::Layers{};
  main.analysis.layers->bootstrap_bytes = 9 * kMiB;
  main.analysis.layers->ecosystem_bytes = 51 * kMiB;
  main.analysis.layers->business_bytes = 30 * kMiB;
  main.analysis.layers->expansion_factor = 1.5;
  main.analysis.layers->infrastructure_share = 0.66;
  s.processes.push_back(main);
  auto child = process(4101, analysis::ProcessRole::child, "celery@host/1");
  child.facts.smaps = probe::SmapsRollup{};
  child.facts.smaps->pss = static_cast<std::uint64_t>(40 * kMiB);
  child.analysis.residual_bytes = 12 * kMiB;
  child.analysis.integrity = analysis::Integrity::stable;
  child.analysis.leak.evaluated = true;
  child.analysis.leak.probability = 0.97;
  child.analysis.leak.level = analysis::LeakLevel::medium;
  child.analysis.cow_drift = analysis::CowDrift{};
  s.processes.push_back(child);

  model::FunctionStats task;
  task.function = "tasks.search";
  task.kind = model::CallKind::kTask;
  task.calls = task.measured_calls = 40;
  task.errors = 1;
  task.net_self_bytes = 20 * kMiB;
  task.gross_bytes = 25 * kMiB;
  task.freed_bytes = 5 * kMiB;
  task.duration_seconds = 3.5;
  task.peak_bytes = 2 * kMiB;
  s.functions.push_back(task);
  s.agent_counters.accepted_by_type = {{"call", 40}, {"hello", 2}};
  s.agent_counters.rejected_by_reason = {{"malformed", 1}};
  s.agent_connected_processes = 2;
  s.oom_counts.push_back({kPod, "tasks.search", "inferred", 1});
  s.probe_errors = {{"smaps_rollup", 3}};
  s.probe_durations = {{"status", 0.0004}};
  s.self_usage = probe::SelfUsage{};
  // The child's captures, the most recent first: one still running, one done
  // with 7 sites of which two share a line (different callers).
  model::AllocationCapture done;
  done.id = "4101-1-1";
  done.pid = 4101;
  done.status = model::CaptureStatus::done;
  for (int i = 0; i < 7; ++i) {
    const std::uint32_t line = i == 1 ? 10 : 10 + 10 * static_cast<std::uint32_t>(i);  // sites 0 and 1: one line
    done.sites.push_back({(7 - i) * 100000, 1, "x", {{"json/decoder.py", 353, "raw_decode"}, {"app/tasks.py", line, "f"}}, 1});
  }
  model::AllocationCapture running = done;
  running.id = "4101-2-2";
  running.status = model::CaptureStatus::running;
  running.sites.clear();
  s.captures = std::make_shared<const std::vector<model::AllocationCapture>>(
      std::vector<model::AllocationCapture>{running, done});
  return s;
}

std::string render(const model::Snapshot& s) { return render_metrics(s, {"1.2.3", true}); }

std::vector<std::string> lines_of(const std::string& text, const std::string& prefix) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(prefix, 0) == 0) out.push_back(line);
  }
  return out;
}

bool has_series(const std::string& text, const std::string& name) {
  for (const auto& line : lines_of(text, name)) {
    if (line.size() > name.size() && (line[name.size()] == '{' || line[name.size()] == ' ')) return true;
  }
  return false;
}

TEST(Metrics, EveryFamilyHasExactlyOneHelpAndOneTypeLine) {
  const std::string text = render(celery_pod());
  std::map<std::string, int> help, type;
  for (const auto& line : lines_of(text, "# HELP ")) ++help[line.substr(7, line.find(' ', 7) - 7)];
  for (const auto& line : lines_of(text, "# TYPE ")) ++type[line.substr(7, line.find(' ', 7) - 7)];
  EXPECT_GT(help.size(), 30u);
  EXPECT_EQ(help.size(), type.size());
  for (const auto& [name, n] : help) {
    EXPECT_EQ(n, 1) << name;
    EXPECT_EQ(type[name], 1) << name;
  }
}

TEST(Metrics, PromtoolAcceptsEveryFamily) {
  if (std::system("promtool --version >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << "promtool not installed (scripts/install-deps.sh installs prometheus)";
  }
  char path[] = "/tmp/ramflow-metrics-XXXXXX";
  int fd = ::mkstemp(path);
  ASSERT_GE(fd, 0);
  ::close(fd);
  std::ofstream(path) << render(celery_pod());
  const std::string command = std::string("promtool check metrics < ") + path + " 2>&1";
  FILE* out = ::popen(command.c_str(), "r");
  ASSERT_NE(out, nullptr);
  std::string said;
  char buf[512];
  while (std::fgets(buf, sizeof buf, out)) said += buf;
  int status = ::pclose(out);
  std::remove(path);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << said;
}

TEST(Metrics, TimeToOomIsAbsentWhenMemoryIsNotGrowing) {
  auto s = celery_pod();
  EXPECT_TRUE(has_series(render(s), "ramflow_time_to_oom_seconds"));
  s.cgroups[0].analysis.time_to_oom.reset();
  EXPECT_FALSE(has_series(render(s), "ramflow_time_to_oom_seconds"));
}

TEST(Metrics, TheCeleryBudgetIsAbsentWithoutACeleryRecommendation) {
  auto s = celery_pod();
  s.cgroups[0].analysis.celery.reset();
  EXPECT_FALSE(has_series(render(s), "ramflow_recommended_celery_max_memory_per_child_bytes"));
}

TEST(Metrics, LeakSeriesWaitForAnEvaluation) {
  auto s = celery_pod();
  s.processes[1].analysis.leak.evaluated = false;
  const std::string text = render(s);
  EXPECT_FALSE(has_series(text, "ramflow_leak_probability"));
  EXPECT_FALSE(has_series(text, "ramflow_leak_level"));
}

TEST(Metrics, AStateSetHasOneSeriesPerValueAndOneIsSet) {
  const auto lines = lines_of(render(celery_pod()), "ramflow_integrity{");
  ASSERT_EQ(lines.size(), 3u);
  int set = 0;
  for (const auto& line : lines) {
    if (line.substr(line.size() - 2) == " 1") {
      ++set;
      EXPECT_NE(line.find("status=\"stable\""), std::string::npos) << line;
    }
  }
  EXPECT_EQ(set, 1);
}

TEST(Metrics, AProcessThatLeftTheSnapshotHasNoSeries) {
  auto s = celery_pod();
  EXPECT_NE(render(s).find("celery@host/1"), std::string::npos);
  s.processes.pop_back();
  const std::string text = render(s);
  EXPECT_EQ(text.find("celery@host/1"), std::string::npos);
  EXPECT_EQ(text.find("4101"), std::string::npos);
}

TEST(Metrics, CountersWithoutEventsStillShowTheirFamily) {
  model::Snapshot empty;
  const std::string text = render(empty);
  for (const char* name : {"ramflow_oom_kills_total", "ramflow_probe_errors_total", "ramflow_function_calls_total",
                           "ramflow_agent_events_rejected_total"}) {
    EXPECT_NE(text.find(std::string("# TYPE ") + name + " counter"), std::string::npos) << name;
  }
}

TEST(Metrics, OnlyProcessInfoNamesAPid) {
  const std::string text = render(celery_pod());
  const auto info = lines_of(text, "ramflow_process_info{");
  ASSERT_EQ(info.size(), 2u);
  EXPECT_EQ(info[0], R"(ramflow_process_info{worker="celery@host",role="main",pid="4100"} 1)");
  EXPECT_EQ(info[1], R"(ramflow_process_info{worker="celery@host/1",role="child",pid="4101"} 1)");
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.find("pid=") != std::string::npos) EXPECT_EQ(line.rfind("ramflow_process_info{", 0), 0u) << line;
  }
  EXPECT_EQ(lines_of(text, "ramflow_residual_bytes{")[0], R"(ramflow_residual_bytes{worker="celery@host/1"} 12582912)");
}

TEST(Metrics, ImportsAreServedOnceAWorkerGroupByItsMain) {
  auto s = celery_pod();
  s.processes[1].agent = s.processes[0].agent;  // a forked child inherits what its main imported
  const auto imports = lines_of(render(s), "ramflow_import_bytes{");
  ASSERT_EQ(imports.size(), 1u);
  EXPECT_EQ(imports[0], R"(ramflow_import_bytes{worker="celery@host",module="django"} 31457280)");
}

TEST(Metrics, AllocationSitesAreTheLastFinishedCapturesLargestLinesOfALiveProcess) {
  auto s = celery_pod();
  const auto sites = lines_of(render(s), "ramflow_allocation_site_bytes{");
  ASSERT_EQ(sites.size(), 5u);
  EXPECT_EQ(sites[0], R"(ramflow_allocation_site_bytes{worker="celery@host/1",site="app/tasks.py:10"} 1300000)");
  EXPECT_EQ(sites[1], R"(ramflow_allocation_site_bytes{worker="celery@host/1",site="app/tasks.py:30"} 500000)");
  s.processes.pop_back();  // the child ended: its sites go with its other series
  EXPECT_TRUE(lines_of(render(s), "ramflow_allocation_site_bytes{").empty());
}

TEST(Metrics, EveryFamilyOfTheTableIsListedEvenWithoutSamples) {
  const std::string text = render(model::Snapshot{});
  for (const auto& spec : metric_table()) {
    EXPECT_NE(text.find("# TYPE " + std::string(spec.name) + " " + std::string(to_string(spec.type)) + "\n"),
              std::string::npos)
        << spec.name;
  }
}

TEST(Metrics, CountersOfKnownLabelValuesAreServedFromTheStart) {
  model::Snapshot s;
  s.probe_errors = {{"status", 0}, {"cgroup", 0}};  // the daemon lists every source at 0
  const std::string text = render(s);
  EXPECT_EQ(lines_of(text, "ramflow_probe_errors_total{").size(), 2u);
  EXPECT_EQ(lines_of(text, "ramflow_agent_events_rejected_total{"),
            std::vector<std::string>{R"(ramflow_agent_events_rejected_total{reason="refused_peer"} 0)"});
  EXPECT_EQ(lines_of(text, "ramflow_agent_events_dropped_total{").size(), 2u);
}

TEST(Metrics, LabelValuesAreEscaped) {
  auto s = celery_pod();
  s.functions[0].function = "say \"hi\"\\\nbye";
  const std::string text = render(s);
  EXPECT_NE(text.find(R"(function="say \"hi\"\\\nbye")"), std::string::npos);
}

TEST(Metrics, BuildInfoCarriesVersionCgroupVersionAndEbpf) {
  const auto lines = lines_of(render(celery_pod()), "ramflow_build_info{");
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find("version=\"1.2.3\""), std::string::npos);
  EXPECT_NE(lines[0].find("cgroup_version=\"v1\""), std::string::npos);
  EXPECT_NE(lines[0].find("ebpf=\"built\""), std::string::npos);
}

TEST(Metrics, RenderingIsPure) {
  const auto s = celery_pod();
  EXPECT_EQ(render(s), render(s));
}

}  // namespace
}  // namespace ramflow::exporter
