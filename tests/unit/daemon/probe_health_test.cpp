// ProbeHealth: errors counted per source, each cause logged once, durations
// of the last cycle only.
#include "daemon/probe_health.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <sstream>

#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

namespace ramflow::daemon {
namespace {

probe::ReadError denied(const std::string& path) { return {probe::ErrorKind::kPermissionDenied, path, ""}; }

// Captures what ProbeHealth logs through spdlog's default logger.
class ProbeHealthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    previous_ = spdlog::default_logger();
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(log_);
    spdlog::set_default_logger(std::make_shared<spdlog::logger>("probe-health-test", sink));
  }
  void TearDown() override { spdlog::set_default_logger(previous_); }
  int logged_lines() {
    spdlog::default_logger()->flush();
    std::string text = log_.str();
    return static_cast<int>(std::count(text.begin(), text.end(), '\n'));
  }
  std::ostringstream log_;
  std::shared_ptr<spdlog::logger> previous_;
  ProbeHealth health_;
};

TEST_F(ProbeHealthTest, CountsEveryErrorUnderItsSource) {
  health_.error("smaps_rollup", denied("/proc/10/smaps_rollup"));
  health_.error("smaps_rollup", denied("/proc/11/smaps_rollup"));
  health_.error("cgroup", denied("/sys/fs/cgroup/memory/x/memory.stat"));
  EXPECT_EQ(health_.errors().at("smaps_rollup"), 2u);
  EXPECT_EQ(health_.errors().at("cgroup"), 1u);
}

TEST_F(ProbeHealthTest, LogsTheSameFileOfManyProcessesOnce) {
  for (int pid = 100; pid < 200; ++pid) health_.error("smaps_rollup", denied("/proc/" + std::to_string(pid) + "/smaps_rollup"));
  EXPECT_EQ(logged_lines(), 1);
  EXPECT_NE(log_.str().find("SYS_PTRACE"), std::string::npos);  // the hint the user acts on
}

TEST_F(ProbeHealthTest, LogsEachDistinctCause) {
  health_.error("smaps_rollup", denied("/proc/10/smaps_rollup"));
  health_.error("status", denied("/proc/10/status"));
  health_.error("smaps_rollup", {probe::ErrorKind::kMalformed, "/proc/10/smaps_rollup", "no Pss line"});
  EXPECT_EQ(logged_lines(), 3);
}

TEST_F(ProbeHealthTest, DurationsSumWithinACycleAndStartOverAtTheNext) {
  health_.duration("status", 0.001);
  health_.duration("status", 0.002);
  EXPECT_DOUBLE_EQ(health_.durations().at("status"), 0.003);
  health_.begin_cycle();
  EXPECT_TRUE(health_.durations().empty());
}

TEST_F(ProbeHealthTest, ErrorCountsSurviveANewCycle) {
  health_.error("meminfo", denied("/proc/meminfo"));
  health_.begin_cycle();
  EXPECT_EQ(health_.errors().at("meminfo"), 1u);
}

}  // namespace
}  // namespace ramflow::daemon
