#include "export/report/report_json.h"

#include <gtest/gtest.h>

#include "export/report/capture_json.h"
#include "report_fixture.h"
#include "report_schema.h"

namespace ramflow::exporter::testing {
namespace {

using nlohmann::json;

std::int64_t mib(double n) { return static_cast<std::int64_t>(n * kMiB); }

model::ExitedProcess ended_child(pid_t pid, double ended) {
  model::ExitedProcess e;
  e.pid = pid;
  e.ppid = 4100;
  e.comm = "python3";
  e.worker = "celery@demo/3";
  e.role = analysis::ProcessRole::child;
  e.group_main = 4100;
  e.started = ended - 300;
  e.ended = ended;
  e.peak_rss_bytes = static_cast<std::uint64_t>(310 * kMiB);
  e.last_rss_bytes = static_cast<std::uint64_t>(300 * kMiB);
  e.last_task = "tasks.search";
  e.analysis.residual_bytes = 200 * kMiB;
  e.analysis.integrity = analysis::Integrity::bloated;
  e.analysis.leak.evaluated = true;
  e.analysis.leak.level = analysis::LeakLevel::high;
  e.analysis.leak.probability = 0.99;
  return e;
}

class ReportJsonTest : public ::testing::Test {
 protected:
  model::Snapshot snapshot = celery_snapshot();
  ReportOptions options = test_options();
  json report() { return build_report(snapshot, options); }
};

TEST_F(ReportJsonTest, HasEveryDocumentedFieldWithItsTypeAndNothingElse) {
  snapshot.cgroups[0].analysis.exited.push_back(ended_child(4103, kNow - 100));  // every field has a value
  auto fields = documented_fields(RAMFLOW_SOURCE_DIR "/docs/report.md");
  ASSERT_GT(fields.size(), 150u) << "the field tables of docs/report.md were not found";
  auto problems = schema_problems(report(), fields);
  std::string all;
  for (const auto& p : problems) all += p + "\n";
  EXPECT_TRUE(problems.empty()) << all;
}

TEST_F(ReportJsonTest, TheSchemaCheckCatchesAMissingFieldAWrongTypeAndAStrayNull) {
  snapshot.cgroups[0].analysis.exited.push_back(ended_child(4103, kNow - 100));
  auto fields = documented_fields(RAMFLOW_SOURCE_DIR "/docs/report.md");
  json r = report();
  r["executive"]["worker"].erase("pool");
  r["executive"]["kpis"]["safety_margin"]["limit_bytes"] = 1.5;
  r["system_context"]["host"]["cpus"] = nullptr;
  r["executive"]["integrity"]["status"] = "SECURE";
  auto problems = schema_problems(r, fields);
  std::string all;
  for (const auto& p : problems) all += p + "\n";
  EXPECT_EQ(problems.size(), 4u) << all;
}

TEST_F(ReportJsonTest, TopLevelSaysWhatBuiltItAndWhen) {
  json r = report();
  EXPECT_EQ(r["schema_version"], 1);
  EXPECT_EQ(r["generated_at"], "2026-05-04T10:15:00Z");
  EXPECT_EQ(r["generated_at_unix"], kNow);
  EXPECT_EQ(r["source"], "run");
  EXPECT_EQ(r["env"], "test");
  EXPECT_EQ(r["cgroup"], kCgroup);
  EXPECT_EQ(r["refresh_seconds"], 5);
}

TEST_F(ReportJsonTest, DescribesTheCeleryGroupMainFirst) {
  json w = report()["executive"]["worker"];
  EXPECT_EQ(w["name"], "celery@demo");
  EXPECT_EQ(w["main_pid"], 4100);
  EXPECT_EQ(w["pids"], json::array({4100, 4101, 4102}));
  EXPECT_EQ(w["pool"], "prefork");
  EXPECT_EQ(w["command"], "/usr/bin/python3 -m celery -A shop.search worker --concurrency 2");
  EXPECT_EQ(w["agent_connected"], true);
}

TEST_F(ReportJsonTest, LayersAreTheAnalysedGroups) {
  json l = report()["executive"]["layers"];
  EXPECT_EQ(l["bootstrap_bytes"], mib(10));
  EXPECT_EQ(l["bootstrap_source"], "agent");
  EXPECT_EQ(l["ecosystem_bytes"], mib(90));
  EXPECT_EQ(l["ready_marker"], "celery_worker_ready");
  EXPECT_EQ(l["business_bytes"], mib(430 - 100));
  EXPECT_EQ(l["peak_bytes"], mib(430));
  EXPECT_EQ(l["peak_source"], "sampled_nonreclaimable");
}

TEST_F(ReportJsonTest, TheGroupWithTheHighestPeakIsDescribed) {
  model::ProcessView stranger = snapshot.processes[0];
  stranger.facts.pid = 5000;
  stranger.role = analysis::ProcessRole::standalone;
  snapshot.processes.push_back(stranger);
  model::WorkerGroupView small;
  small.main = 5000;
  small.members = {5000};
  small.peak = {110 * kMiB, "vmhwm"};
  snapshot.cgroups[0].analysis.groups.push_back(small);
  EXPECT_EQ(report()["executive"]["worker"]["main_pid"], 4100);
  snapshot.cgroups[0].analysis.groups.back().peak.bytes = 900 * kMiB;
  EXPECT_EQ(report()["executive"]["worker"]["main_pid"], 5000);
}

TEST_F(ReportJsonTest, IntegrityIsTheWorstProcesses) {
  json i = report()["executive"]["integrity"];
  EXPECT_EQ(i["status"], "bloated");
  EXPECT_EQ(i["residual_bytes"], mib(30));
  EXPECT_EQ(i["leak_level"], "high");
  EXPECT_EQ(i["thresholds"]["medium_bytes"], mib(5));
  EXPECT_EQ(i["thresholds"]["high_bytes"], mib(20));
  EXPECT_EQ(i["held_by"], "python_objects");
  EXPECT_EQ(i["held_by_capture"], nullptr);
  EXPECT_EQ(i["allocated_blocks_delta"], 6000);
  EXPECT_EQ(i["rss_anon_delta_bytes"], mib(30));
  EXPECT_EQ(i["seed_rule"], (json{{"level", "high"}, {"residual_bytes", mib(30)}, {"peak_bytes", mib(430)}}));
}

TEST_F(ReportJsonTest, WhatHoldsTheBloatSaysWhichCaptureMeasuredIt) {
  for (auto& p : snapshot.processes) {
    p.analysis.bloat = analysis::measured_bloat(analysis::split_growth(9.4e6, 0, 5.8e6), "4100-1-1", p.analysis.bloat);
  }
  json i = report()["executive"]["integrity"];
  EXPECT_EQ(i["held_by"], "python_objects");
  EXPECT_EQ(i["held_by_capture"], "4100-1-1");
  EXPECT_NE(i["held_by_reason"].get<std::string>().find("62 % of the 9.0 MiB its window grew"), std::string::npos)
      << i["held_by_reason"];
}

TEST_F(ReportJsonTest, KpisCarryMarginsFootprintSpeedAndLeak) {
  json k = report()["executive"]["kpis"];
  EXPECT_DOUBLE_EQ(k["safety_margin"]["ratio"].get<double>(), 0.21875);
  EXPECT_DOUBLE_EQ(k["safety_margin"]["nonreclaimable_ratio"].get<double>(), 0.25);
  EXPECT_EQ(k["safety_margin"]["limit_bytes"], mib(512));
  EXPECT_EQ(k["safety_margin"]["limit_source"], "cgroup");
  EXPECT_EQ(k["safety_margin"]["working_set_bytes"], mib(400));
  EXPECT_EQ(k["safety_margin"]["nonreclaimable_bytes"], mib(384));
  EXPECT_EQ(k["safety_margin"]["verdict"], "healthy");
  EXPECT_EQ(k["safety_margin"]["scope"], "cgroup");
  EXPECT_EQ(k["safety_margin"]["oom_risk"], false);
  EXPECT_EQ(k["footprint"]["peak_bytes"], mib(430));
  EXPECT_EQ(k["footprint"]["source"], "sampled_nonreclaimable");
  EXPECT_EQ(k["footprint"]["scope"], "cgroup");
  EXPECT_EQ(k["footprint"]["cgroup_peak_bytes"], mib(430));
  EXPECT_DOUBLE_EQ(k["footprint"]["limit_ratio"].get<double>(), 430.0 / 512);
  EXPECT_EQ(k["footprint"]["verdict"], "fits");
  // cached_search: 80 MiB in 0.4 s beats the process window's 50 MiB/s.
  EXPECT_DOUBLE_EQ(k["allocation_speed"]["bytes_per_second"].get<double>(), 200 * kMiB);
  EXPECT_EQ(k["allocation_speed"]["pid"], 4101);
  EXPECT_EQ(k["allocation_speed"]["function"], "cached_search");
  EXPECT_EQ(k["allocation_speed"]["verdict"], "greedy");
  EXPECT_EQ(k["leak_probability"]["level"], "high");
  EXPECT_DOUBLE_EQ(k["leak_probability"]["probability"].get<double>(), 0.97);
  EXPECT_DOUBLE_EQ(k["leak_probability"]["trend_probability"].get<double>(), 0.9993);
  EXPECT_EQ(k["leak_probability"]["pid"], 4101);
  EXPECT_EQ(k["leak_probability"]["window_tasks"], 40);
  EXPECT_DOUBLE_EQ(k["leak_probability"]["rate_bytes_per_task"].get<double>(), 1.5 * kMiB);
  EXPECT_DOUBLE_EQ(k["leak_probability"]["rate_bytes_per_second"].get<double>(), 100);
}

TEST_F(ReportJsonTest, VerdictsAreTheAnalysis) {
  snapshot.cgroups[0].analysis.margin_verdict = analysis::MarginVerdict::critical;
  snapshot.cgroups[0].analysis.footprint_verdict = analysis::FootprintVerdict::near_limit;
  json k = report()["executive"]["kpis"];
  EXPECT_EQ(k["safety_margin"]["verdict"], "critical");
  EXPECT_EQ(k["footprint"]["verdict"], "near_limit");
}

TEST_F(ReportJsonTest, RecommendationQuantitiesReasonsAndTheExactSnippet) {
  json r = report()["executive"]["recommendation"];
  EXPECT_EQ(r["limit_bytes"], mib(516));
  EXPECT_EQ(r["limit_quantity"], "516Mi");
  EXPECT_NE(r["limit_reason"].get<std::string>().find("no allowance for the high leak"), std::string::npos);
  EXPECT_EQ(r["request_bytes"], mib(460));
  EXPECT_EQ(r["request_quantity"], "460Mi");
  EXPECT_NE(r["request_reason"].get<std::string>().find("p90 of 1 per-bucket peaks"), std::string::npos);
  EXPECT_DOUBLE_EQ(r["headroom_ratio"].get<double>(), 0.2);
  EXPECT_EQ(r["leak_allowance_bytes"], 0);
  EXPECT_EQ(r["restart_horizon_seconds"], 86400);
  EXPECT_EQ(r["recycle_instead"], true);
  EXPECT_EQ(r["above_node_memory"], false);
  // (516 - 100) MiB / 2 children = 208 MiB; a fresh child at 100 MiB grows 1.5 MiB per task: 72 tasks.
  EXPECT_EQ(r["celery_max_memory_per_child_kib"], 212992);
  EXPECT_EQ(r["celery"]["max_memory_per_child_kib"], 212992);
  EXPECT_EQ(r["celery"]["max_tasks_per_child"], 72);
  EXPECT_EQ(r["celery"]["trap"], false);
  EXPECT_EQ(r["resources_snippet"], "resources:\n  requests:\n    memory: 460Mi\n  limits:\n    memory: 516Mi\n");
}

TEST_F(ReportJsonTest, ImportsHeaviestFirst) {
  EXPECT_EQ(report()["executive"]["imports"],
            json::parse(R"([{"module":"pandas","bytes":41943040},{"module":"numpy","bytes":15728640}])"));
}

TEST_F(ReportJsonTest, ProcessesShowTheirOwnLayersAndVerdicts) {
  json ps = report()["executive"]["processes"];
  ASSERT_EQ(ps.size(), 3u);
  EXPECT_EQ(ps[0]["role"], "main");
  EXPECT_EQ(ps[0]["integrity"], "unknown");
  EXPECT_EQ(ps[0]["leak_probability"], nullptr);
  EXPECT_EQ(ps[1]["worker"], "celery@demo/1");
  EXPECT_EQ(ps[1]["rss_bytes"], mib(180));
  EXPECT_EQ(ps[1]["pss_bytes"], mib(150));
  EXPECT_EQ(ps[1]["peak_rss_bytes"], mib(200));
  EXPECT_EQ(ps[1]["layers"]["bootstrap_bytes"], mib(10));  // inherited from the main
  EXPECT_EQ(ps[1]["layers"]["business_bytes"], mib(100));
  EXPECT_EQ(ps[2]["integrity"], "secure");
  EXPECT_EQ(ps[2]["leak_level"], "low");
}

TEST_F(ReportJsonTest, EndedMembersAreListedWithHowTheyEnded) {
  auto& exited = snapshot.cgroups[0].analysis.exited;
  exited.push_back(ended_child(4103, kNow - 100));
  exited.push_back(ended_child(4104, kNow - 50));
  snapshot.oom_kills[0].pid = 4104;
  snapshot.oom_kills[0].time = kNow - 51;
  json ps = report()["executive"]["processes"];
  ASSERT_EQ(ps.size(), 5u);
  EXPECT_EQ(ps[0]["state"], "running");
  EXPECT_EQ(ps[0]["end"], nullptr);
  EXPECT_EQ(ps[3]["pid"], 4103);
  EXPECT_EQ(ps[3]["state"], "ended");
  EXPECT_EQ(ps[3]["end"]["reason"], "exited");
  EXPECT_EQ(ps[4]["end"]["reason"], "oom_killed");
  EXPECT_EQ(ps[4]["end"]["task"], "tasks.search");
  EXPECT_EQ(ps[4]["integrity"], "bloated");
  EXPECT_EQ(ps[4]["peak_rss_bytes"], mib(310));
  // The worst verdict of the group counts its ended members.
  EXPECT_EQ(report()["executive"]["integrity"]["residual_bytes"], mib(200));
}

TEST_F(ReportJsonTest, AfterEveryProcessEndedTheReportStillDescribesTheGroup) {
  auto& a = snapshot.cgroups[0].analysis;
  model::ExitedProcess main = ended_child(4100, kNow - 10);
  main.ppid = 1;
  main.role = analysis::ProcessRole::main;
  main.worker = "celery@demo";
  a.exited = {ended_child(4101, kNow - 20), main};
  a.groups.clear();
  snapshot.processes.clear();
  json r = report();
  EXPECT_EQ(r["executive"]["worker"]["main_pid"], 4100);
  EXPECT_EQ(r["executive"]["worker"]["pids"], json::array({4100, 4101}));
  EXPECT_EQ(r["executive"]["processes"][0]["state"], "ended");
  EXPECT_EQ(r["executive"]["integrity"]["status"], "bloated");
  EXPECT_EQ(r["executive"]["layers"]["peak_bytes"], mib(310));
}

TEST_F(ReportJsonTest, TimelinesHoldTasksWithOutcomesAndNestedSpans) {
  json t = report()["execution_flow"]["timelines"][1];
  EXPECT_EQ(t["pid"], 4101);
  ASSERT_EQ(t["points"].size(), 4u);
  EXPECT_EQ(t["points"][3], json::array({kNow, mib(180)}));
  ASSERT_EQ(t["tasks"].size(), 4u);
  EXPECT_EQ(t["tasks"][0]["residual_bytes"], mib(5));
  EXPECT_EQ(t["tasks"][0]["outcome"], "ok");
  EXPECT_EQ(t["tasks"][2]["outcome"], "error");  // its task span raised
  EXPECT_EQ(t["tasks"][3]["outcome"], "running");
  EXPECT_EQ(t["tasks"][3]["end"], nullptr);
  ASSERT_EQ(t["spans"].size(), 3u);
  EXPECT_EQ(t["spans"][0]["function"], "tokenize");
  EXPECT_EQ(t["spans"][0]["depth"], 2);
  EXPECT_EQ(t["spans"][1]["depth"], 1);
  EXPECT_EQ(t["spans"][2]["depth"], 0);
}

TEST_F(ReportJsonTest, BoundsKeepTheMostRecent) {
  options.bounds = {2, 1, 1};
  json t = report()["execution_flow"]["timelines"][1];
  EXPECT_EQ(t["points"].size(), 2u);
  EXPECT_EQ(t["points"][1][0], kNow);
  EXPECT_EQ(t["tasks"].size(), 1u);
  EXPECT_EQ(t["tasks"][0]["outcome"], "running");
  ASSERT_EQ(t["spans"].size(), 1u);
  EXPECT_EQ(t["spans"][0]["function"], "tasks.search");
}

TEST_F(ReportJsonTest, NetSelfRowsSortedByKeptBytesAndAddingUpToTheGrowthSinceReady) {
  json n = report()["execution_flow"]["net_self"];
  EXPECT_EQ(n["approximate"], false);
  EXPECT_EQ(n["since"], "ready");
  std::vector<std::string> order;
  for (const auto& r : n["rows"]) order.push_back(r["function"]);
  EXPECT_EQ(order, (std::vector<std::string>{"cached_search", "tasks.search", "tokenize", "other"}));
  EXPECT_EQ(n["rows"][0]["net_self_bytes"], mib(25));
  EXPECT_EQ(n["rows"][0]["gross_bytes"], mib(26));
  EXPECT_EQ(n["rows"][1]["kind"], "task");
  const json& rc = n["reconciliation"];
  EXPECT_EQ(rc["processes"], 3);
  EXPECT_EQ(rc["growth_since_ready_bytes"], mib(0 + 80 + 50));
  EXPECT_EQ(rc["tracked_net_bytes"], mib(25 + 4 + 1 + 0.5));
  EXPECT_EQ(rc["outside_tracked_bytes"], mib(130 - 30.5));
}

TEST_F(ReportJsonTest, NetSelfOfTheSameFunctionInSeveralProcessesIsSummed) {
  snapshot.processes[2].agent->net_self.push_back(snapshot.processes[1].agent->net_self[1]);  // cached_search
  json n = report()["execution_flow"]["net_self"];
  EXPECT_EQ(n["rows"][0]["function"], "cached_search");
  EXPECT_EQ(n["rows"][0]["calls"], 80);
  EXPECT_EQ(n["rows"][0]["net_self_bytes"], mib(50));
  EXPECT_EQ(n["reconciliation"]["tracked_net_bytes"], mib(25 + 25 + 4 + 1 + 0.5));
}

TEST_F(ReportJsonTest, SystemContext) {
  json s = report()["system_context"];
  EXPECT_EQ(s["expansion"]["infrastructure_bytes"], mib(100));
  EXPECT_DOUBLE_EQ(s["expansion"]["factor"].get<double>(), 4.3);
  EXPECT_DOUBLE_EQ(s["ecosystem_share"]["ratio"].get<double>(), 100.0 / 430);
  EXPECT_EQ(s["ecosystem_share"]["reality_check"], false);
  EXPECT_EQ(s["host"], json::parse(R"({"hostname":"laptop","kernel":"6.1.0-31-amd64","cpus":2,
                                       "mem_total_bytes":8589934592,"mem_available_bytes":5242880000})"));
  EXPECT_EQ(s["cgroup"]["version"], "v1");
  EXPECT_EQ(s["cgroup"]["peak_bytes"], mib(430));
  EXPECT_EQ(s["pressure"]["scope"], "host");
  EXPECT_DOUBLE_EQ(s["pressure"]["some_avg10_ratio"].get<double>(), 0.0312);
  EXPECT_EQ(s["pressure"]["note"], "cgroup v1 has no per-cgroup PSI: host-wide /proc/pressure/memory");
  EXPECT_EQ(s["oom_kills"]["total"], 1);
  EXPECT_EQ(s["oom_kills"]["recent"][0]["task"], "tasks.search");
  EXPECT_EQ(s["oom_kills"]["recent"][0]["rss_at_death_bytes"], mib(300));
  EXPECT_EQ(s["ebpf"], json::parse(R"({"state":"active","reason":null})"));
  EXPECT_EQ(s["agent"], json::parse(R"({"connected_processes":3,"events_total":123,"rejected_total":2,"dropped_total":5})"));
}

TEST_F(ReportJsonTest, ConfigurationSourceIsDefaultOnlyWhenTheValueIsTheDefault) {
  json r = report();  // a loop over a temporary's member would read freed memory
  for (const auto& c : r["system_context"]["configuration"]) {
    if (c["key"] == "listen") EXPECT_EQ(c["source"], nullptr);
    else EXPECT_EQ(c["source"], "default") << c.dump();
  }
}

TEST_F(ReportJsonTest, EbpfOffSaysWhy) {
  snapshot.ebpf_active = false;
  snapshot.ebpf_status = "disabled by --ebpf off";
  EXPECT_EQ(report()["system_context"]["ebpf"], json::parse(R"({"state":"disabled","reason":"disabled by --ebpf off"})"));
  snapshot.ebpf_status = "no BTF at /sys/kernel/btf/vmlinux";
  EXPECT_EQ(report()["system_context"]["ebpf"]["state"], "unavailable");
}

TEST_F(ReportJsonTest, WithoutAgentsUnknownsAreNullNeverZero) {
  for (auto& p : snapshot.processes) {
    p.agent.reset();
    p.worker.clear();
    p.analysis = {};
  }
  snapshot.cgroups[0].analysis.groups[0].layers.reset();
  snapshot.functions.clear();
  json r = report();
  auto fields = documented_fields(RAMFLOW_SOURCE_DIR "/docs/report.md");
  for (const auto& problem : schema_problems(r, fields)) {
    EXPECT_NE(problem.find("no value to check"), std::string::npos) << problem;
  }
  EXPECT_EQ(r["executive"]["worker"]["name"], nullptr);
  EXPECT_EQ(r["executive"]["worker"]["pool"], "unknown");  // the command line says celery
  EXPECT_EQ(r["executive"]["worker"]["agent_connected"], false);
  EXPECT_EQ(r["executive"]["layers"]["bootstrap_bytes"], nullptr);
  EXPECT_EQ(r["executive"]["layers"]["bootstrap_source"], "unknown");
  EXPECT_EQ(r["executive"]["layers"]["ready_marker"], nullptr);
  EXPECT_EQ(r["executive"]["layers"]["business_bytes"], nullptr);
  EXPECT_EQ(r["executive"]["integrity"]["status"], "unknown");
  EXPECT_EQ(r["executive"]["integrity"]["seed_rule"]["level"], "unknown");
  EXPECT_EQ(r["executive"]["kpis"]["leak_probability"]["level"], "unknown");
  EXPECT_EQ(r["executive"]["kpis"]["leak_probability"]["probability"], nullptr);
  EXPECT_EQ(r["system_context"]["expansion"]["factor"], nullptr);
  EXPECT_EQ(r["executive"]["imports"], json::array());
}

TEST_F(ReportJsonTest, AllocationSitesNameTheApplicationsLineAndWhatTheGrowthWasMadeOf) {
  std::vector<model::AllocationCapture> captures = *snapshot.captures;
  captures.push_back(captures[0]);
  captures.back().id = "9999-1-1";
  captures.back().pid = 9999;  // not in the group
  snapshot.captures = std::make_shared<const std::vector<model::AllocationCapture>>(captures);
  json sites = report()["execution_flow"]["allocation_sites"];
  ASSERT_EQ(sites.size(), 1u);
  const json& c = sites[0];
  EXPECT_EQ(c["id"], "4101-1777885900-2");
  EXPECT_EQ(c["reason"], "leak_high");
  EXPECT_EQ(c["status"], "done");
  EXPECT_EQ(c["window"]["ended_by"], "tasks");
  EXPECT_DOUBLE_EQ(c["window"]["seconds"].get<double>(), 29.5);
  EXPECT_EQ(c["growth"]["verdict"], "python");
  EXPECT_EQ(c["growth"]["process_bytes"], mib(30.5));
  EXPECT_EQ(c["growth"]["native_bytes"], mib(0.5));
  const json& top = c["sites"][0];
  EXPECT_EQ(top["file"], "app/search.py");  // the application's frame, not json's
  EXPECT_EQ(top["line"], 42);
  EXPECT_EQ(top["function"], "cached_search");
  EXPECT_EQ(top["traceback"].size(), 3u);
  EXPECT_EQ(top["traceback"][0]["file"], "json/decoder.py");
  EXPECT_EQ(c["oom_killed_at"], kNow - 10);
  EXPECT_EQ(report()["system_context"]["oom_kills"]["recent"][0]["allocation_capture"], "4099-1777882400-1");
}

TEST_F(ReportJsonTest, AStillRunningCaptureHasNoGrowthYet) {
  model::AllocationCapture c = snapshot.captures->at(0);
  c.status = model::CaptureStatus::running;
  c.ended = 0;
  c.anon_growth.reset();
  c.sites.clear();
  snapshot.captures = std::make_shared<const std::vector<model::AllocationCapture>>(1, c);
  json j = report()["execution_flow"]["allocation_sites"][0];
  EXPECT_TRUE(j["growth"].is_null());
  EXPECT_TRUE(j["window"]["ended"].is_null());
  EXPECT_TRUE(j["window"]["seconds"].is_null());
}

TEST_F(ReportJsonTest, DefaultCgroupIsTheOneWithTheLowestMargin) {
  model::CgroupView roomy = snapshot.cgroups[0];
  roomy.facts.path = "/roomy";
  roomy.analysis.margins.safety = 0.9;
  model::ProcessView other = snapshot.processes[0];
  other.facts.pid = 7000;
  other.facts.cgroup = "/roomy";
  roomy.analysis.groups = {{7000, {7000}, {100 * kMiB, "vmhwm"}, std::nullopt}};
  snapshot.cgroups.insert(snapshot.cgroups.begin(), roomy);
  snapshot.processes.push_back(other);
  EXPECT_EQ(report()["cgroup"], kCgroup);
  options.cgroup = "/roomy";
  EXPECT_EQ(report()["executive"]["worker"]["main_pid"], 7000);
}

TEST_F(ReportJsonTest, UnknownCgroupIsAClearError) {
  options.cgroup = "/nope";
  try {
    report();
    FAIL() << "expected ReportError";
  } catch (const ReportError& e) {
    EXPECT_EQ(e.kind(), ReportError::Kind::kUnknownCgroup);
    EXPECT_NE(std::string(e.what()).find(kCgroup), std::string::npos) << e.what();
  }
}

TEST_F(ReportJsonTest, NothingSampledYetIsAClearError) {
  snapshot.cgroups.clear();
  try {
    report();
    FAIL() << "expected ReportError";
  } catch (const ReportError& e) {
    EXPECT_EQ(e.kind(), ReportError::Kind::kNothingYet);
  }
}

TEST_F(ReportJsonTest, BadOptionsAreRefused) {
  options.source = "cron";
  EXPECT_THROW(report(), std::invalid_argument);
}

TEST_F(ReportJsonTest, InvalidUtf8FromProcBecomesReplacementCharacters) {
  snapshot.processes[0].facts.cmdline = {"python3", "caf\xe9"};
  EXPECT_EQ(report()["executive"]["worker"]["command"], "python3 caf\xef\xbf\xbd");
  EXPECT_NO_THROW(report().dump());
}

TEST_F(ReportJsonTest, CommandIsCutAt256Characters) {
  snapshot.processes[0].facts.cmdline = {std::string(300, 'x')};
  EXPECT_EQ(report()["executive"]["worker"]["command"].get<std::string>().size(), 256u);
}

TEST_F(ReportJsonTest, SecretsInTheCommandAreRedactedUnlessAskedFor) {
  snapshot.processes[0].facts.cmdline = {"celery", "worker", "--broker", "redis://:S3cretPassw0rd@redis:6379/0",
                                         "--password", "hunter2"};
  EXPECT_EQ(report()["executive"]["worker"]["command"], "celery worker --broker redis://***@redis:6379/0 --password ***");
  options.show_command_lines = true;
  EXPECT_EQ(report()["executive"]["worker"]["command"],
            "celery worker --broker redis://:S3cretPassw0rd@redis:6379/0 --password hunter2");
}

TEST(ReportEnv, RamflowEnvThenAppEnvThenLocal) {
  EXPECT_EQ(report_env("prod", "staging"), "prod");
  EXPECT_EQ(report_env(nullptr, "staging"), "staging");
  EXPECT_EQ(report_env("", nullptr), "local");
}

}  // namespace
}  // namespace ramflow::exporter::testing

namespace ramflow::exporter {
namespace {

TEST(CaptureText, SaysTheWindowTheSplitAndEachSiteWithItsTraceback) {
  model::AllocationCapture c = testing::celery_snapshot().captures->at(0);
  const std::string text = format_capture_text(capture_json(c));
  EXPECT_NE(text.find("allocation sites of pid 4101 (leak_high"), std::string::npos) << text;
  EXPECT_NE(text.find("window: 29.5 s, 20 tasks, ended by tasks"), std::string::npos) << text;
  EXPECT_NE(text.find("30.0 MiB in 40 blocks  app/search.py:42 cached_search"), std::string::npos) << text;
  EXPECT_NE(text.find("CACHE[query] = json.loads(body)"), std::string::npos) << text;
  EXPECT_NE(text.find("json/decoder.py:353 JSONDecoder.raw_decode"), std::string::npos) << text;
  EXPECT_EQ(text.find("most of the growth is native"), std::string::npos) << text;
  c.traced_growth = 0;
  c.sites.clear();
  const std::string native = format_capture_text(capture_json(c));
  EXPECT_NE(native.find("native 30.5 MiB (100 %)"), std::string::npos) << native;
  EXPECT_NE(native.find("most of the growth is native"), std::string::npos) << native;
  EXPECT_NE(native.find("no allocation grew during the window"), std::string::npos) << native;
  c.status = model::CaptureStatus::lost;
  c.error = "the process ended before its window did";
  EXPECT_NE(format_capture_text(capture_json(c)).find("lost — the process ended"), std::string::npos);
}

}  // namespace
}  // namespace ramflow::exporter
