// How the report shows the way to the worker's cgroup, the declared limit, and
// a worker cgroup that cannot be read: every per-process figure, every pod-level
// one null, and what is missing and what would give it.
#include <gtest/gtest.h>

#include "export/report/report_json.h"
#include "report_fixture.h"
#include "report_schema.h"

namespace ramflow::exporter::testing {
namespace {

using nlohmann::json;

class ReportCgroupAccessTest : public ::testing::Test {
 protected:
  model::Snapshot snapshot = celery_snapshot();
  ReportOptions options = test_options();
  json report() { return build_report(snapshot, options); }

  void make_unreachable() {
    auto& c = snapshot.cgroups[0];
    c.facts.has_reading = false;
    c.facts.last = {};
    c.facts.highest_working_set = 0;
    c.limit = {};
    c.peak = 0;
    auto groups = c.analysis.groups;
    c.analysis = {};  // the analysis of an unreachable cgroup: its groups, no pod-level figure
    c.analysis.scope = model::FigureScope::processes;
    c.analysis.groups = groups;
    c.location.path = kCgroup;
    c.location.route = probe::CgroupRoute::kUnreachable;
    c.location.missing = "cannot read /proc/4100/root/sys/fs/cgroup/memory/cgroup.procs: Permission denied";
    c.location.remedy = "run the sidecar as the worker's UID";
    c.declared_limit = 512ull << 20;
  }
};

TEST_F(ReportCgroupAccessTest, TheRouteTakenIsShown) {
  auto& loc = snapshot.cgroups[0].location;
  loc.route = probe::CgroupRoute::kWorkerMount;
  loc.dir = "/sys/fs/cgroup/memory";
  json cg = report()["system_context"]["cgroup"];
  EXPECT_EQ(cg["route"], "worker_mount");
  EXPECT_EQ(cg["route_dir"], "/sys/fs/cgroup/memory");
  EXPECT_EQ(cg["missing"], nullptr);
  EXPECT_EQ(cg["remedy"], nullptr);
  EXPECT_EQ(cg["declared_limit_bytes"], nullptr);
  EXPECT_EQ(cg["declared_limit_check"], "absent");
}

TEST_F(ReportCgroupAccessTest, TheDeclaredLimitIsCrossCheckedAndNeverUsed) {
  snapshot.cgroups[0].declared_limit = 128ull << 20;  // podman 4.3: the sidecar's own limit
  json r = report();
  EXPECT_EQ(r["system_context"]["cgroup"]["declared_limit_bytes"], 128ll << 20);
  EXPECT_EQ(r["system_context"]["cgroup"]["declared_limit_check"], "differs");
  EXPECT_EQ(r["system_context"]["cgroup"]["limit_bytes"], 512ll << 20);
  EXPECT_EQ(r["executive"]["kpis"]["safety_margin"]["limit_bytes"], 512ll << 20);
  snapshot.cgroups[0].declared_limit = 512ull << 20;
  EXPECT_EQ(report()["system_context"]["cgroup"]["declared_limit_check"], "agrees");
}

TEST_F(ReportCgroupAccessTest, AnUnreachableCgroupLeavesEveryProcessAndNoPodFigure) {
  make_unreachable();
  json r = report();
  auto problems = schema_problems(r, documented_fields(RAMFLOW_SOURCE_DIR "/docs/report.md"));
  std::string all;
  for (const auto& p : problems) {
    if (p.find("no value to check") == std::string::npos) all += p + "\n";  // a null object has no members
  }
  EXPECT_TRUE(all.empty()) << all;

  const json& cg = r["system_context"]["cgroup"];
  EXPECT_EQ(cg["route"], "unreachable");
  EXPECT_EQ(cg["route_dir"], nullptr);
  EXPECT_NE(cg["missing"].get<std::string>().find("Permission denied"), std::string::npos);
  EXPECT_EQ(cg["remedy"], "run the sidecar as the worker's UID");
  EXPECT_EQ(cg["declared_limit_check"], "unchecked");
  for (const char* k : {"limit_bytes", "limit_source", "usage_bytes", "working_set_bytes", "peak_bytes"}) {
    EXPECT_EQ(cg[k], nullptr) << k;
  }
  const json& margin = r["executive"]["kpis"]["safety_margin"];
  EXPECT_EQ(margin["ratio"], nullptr);
  EXPECT_EQ(margin["limit_bytes"], nullptr);
  EXPECT_EQ(margin["verdict"], "unknown");
  EXPECT_EQ(margin["oom_risk"], nullptr);
  EXPECT_EQ(r["executive"]["kpis"]["footprint"]["source"], r["executive"]["layers"]["peak_source"]);
  EXPECT_EQ(r["executive"]["kpis"]["footprint"]["scope"], "processes");
  EXPECT_EQ(r["executive"]["kpis"]["footprint"]["peak_bytes"], r["executive"]["layers"]["peak_bytes"]);
  EXPECT_EQ(r["executive"]["kpis"]["footprint"]["limit_ratio"], nullptr);
  EXPECT_EQ(r["executive"]["recommendation"]["limit_bytes"], nullptr);
  EXPECT_EQ(r["executive"]["recommendation"]["resources_snippet"], nullptr);
  EXPECT_EQ(r["executive"]["time_to_oom"]["seconds"], nullptr);
  // Everything per process is still there.
  EXPECT_EQ(r["executive"]["processes"].size(), 3u);
  EXPECT_EQ(r["executive"]["integrity"]["status"], "bloated");
  EXPECT_EQ(r["executive"]["kpis"]["leak_probability"]["level"], "high");
  EXPECT_EQ(r["execution_flow"]["timelines"].size(), 3u);
}

TEST_F(ReportCgroupAccessTest, ACgroupThatWasReadComesBeforeOneThatCannotBe) {
  model::CgroupView readable = snapshot.cgroups[0];
  readable.facts.path = "/readable";
  readable.analysis.margins.safety = 0.9;
  model::ProcessView other = snapshot.processes[0];
  other.facts.pid = 7000;
  other.facts.cgroup = "/readable";
  snapshot.processes.push_back(other);
  make_unreachable();  // its margin (0 by default) would otherwise look the lowest
  snapshot.cgroups.push_back(readable);
  EXPECT_EQ(report()["cgroup"], "/readable");
}

}  // namespace
}  // namespace ramflow::exporter::testing
