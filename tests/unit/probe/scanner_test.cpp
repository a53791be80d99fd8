// ProcessScanner's memory of verdicts, on a scratch copy of real fixture files
// edited between scans the way exec and pid reuse change them.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "fixture.h"
#include "probe/discovery.h"

namespace ramflow::probe {
namespace {

using namespace fx;
namespace fs = std::filesystem;

std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

void put(const fs::path& path, const std::string& content) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << content;
}

std::string replaced(std::string s, const std::string& from, const std::string& to) {
  s.replace(s.find(from), from.size(), to);
  return s;
}

class ScannerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("ramflow-scanner-" + std::to_string(::getpid()));
    fs::create_directories(pid_dir_());
    put(pid_dir_() / "stat", slurp(kV1Proc + "/" + std::to_string(kSleepPid) + "/stat"));
    put(pid_dir_() / "cmdline", slurp(kV1Proc + "/" + std::to_string(kSleepPid) + "/cmdline"));
  }
  void TearDown() override { fs::remove_all(root_); }

  fs::path pid_dir_() const { return root_ / std::to_string(kSleepPid); }

  // What exec does: same pid and start time, new comm and cmdline.
  void exec_python() {
    put(pid_dir_() / "stat", replaced(slurp(pid_dir_() / "stat"), "(sleep)", "(python3)"));
    put(pid_dir_() / "cmdline", slurp(kV1Proc + "/" + std::to_string(kMainPid) + "/cmdline"));
  }

  fs::path root_;
};

TEST_F(ScannerTest, RepeatedScansGiveTheSameResult) {
  ProcessScanner scanner(kV1Proc, std::regex("python"), 64, -1);
  const auto first = scanner.scan();
  const auto second = scanner.scan();
  ASSERT_EQ(first.processes.size(), 4u);
  ASSERT_EQ(second.processes.size(), first.processes.size());
  for (std::size_t i = 0; i < first.processes.size(); ++i) {
    EXPECT_EQ(second.processes[i].pid, first.processes[i].pid);
    EXPECT_EQ(second.processes[i].role, first.processes[i].role);
    EXPECT_EQ(second.processes[i].cmdline, first.processes[i].cmdline);
  }
}

TEST_F(ScannerTest, AProcessThatExecsIntoPythonIsFoundOnTheNextScan) {
  ProcessScanner scanner(root_.string(), std::regex("celery"), 64, -1);
  EXPECT_TRUE(scanner.scan().processes.empty());
  exec_python();
  const auto r = scanner.scan();
  ASSERT_EQ(r.processes.size(), 1u);
  EXPECT_EQ(r.processes[0].comm, "python3");
  EXPECT_EQ(r.processes[0].cmdline.at(2), "celery");
}

TEST_F(ScannerTest, AKnownProcessIsNotReadAgain) {
  ProcessScanner scanner(root_.string(), std::regex("celery"), 64, -1);
  EXPECT_TRUE(scanner.scan().processes.empty());
  // Only the cmdline changes (setproctitle): the verdict of the first scan stands.
  put(pid_dir_() / "cmdline", slurp(kV1Proc + "/" + std::to_string(kMainPid) + "/cmdline"));
  EXPECT_TRUE(scanner.scan().processes.empty());
  // A fresh scan reads it.
  EXPECT_EQ(discover_processes(root_.string(), std::regex("celery"), 64, -1).processes.size(), 1u);
}

TEST_F(ScannerTest, AReusedPidIsJudgedAgain) {
  ProcessScanner scanner(root_.string(), std::regex("celery"), 64, -1);
  EXPECT_TRUE(scanner.scan().processes.empty());
  // A new process with the same pid and comm: only the start time tells them apart.
  put(pid_dir_() / "stat", replaced(slurp(pid_dir_() / "stat"), " 57119 ", " 60000 "));
  constexpr char kCmdline[] = "sleep\0celery-beat-lock";  // NUL-terminated as the kernel's
  put(pid_dir_() / "cmdline", std::string(kCmdline, sizeof kCmdline));
  const auto r = scanner.scan();
  ASSERT_EQ(r.processes.size(), 1u);
  EXPECT_EQ(r.processes[0].start_time_ticks, 60000u);
}

TEST_F(ScannerTest, ALongKnownNonWorkerIsTrustedUntilTheNextRecheck) {
  ProcessScanner scanner(root_.string(), std::regex("celery"), 64, -1);
  for (int i = 0; i < ProcessScanner::kTrustAfter; ++i) EXPECT_TRUE(scanner.scan().processes.empty());
  // Same /proc inode (a real new process on this pid would have a new one):
  // the trusted verdict skips the read until the periodic recheck.
  exec_python();
  unsigned scans = ProcessScanner::kTrustAfter;
  std::size_t found = 0;
  while (found == 0 && scans < ProcessScanner::kRecheckEvery) {
    found = scanner.scan().processes.size();
    ++scans;
  }
  EXPECT_EQ(found, 1u);
  EXPECT_EQ(scans, ProcessScanner::kRecheckEvery) << "found by the periodic recheck, not before";
}

TEST_F(ScannerTest, ALongKnownWorkerIsTrustedAndItsParentRefreshedAtTheRecheck) {
  ProcessScanner scanner(root_.string(), std::regex("sleep"), 64, -1);
  pid_t ppid = 0;
  for (int i = 0; i < ProcessScanner::kTrustAfter; ++i) {
    const auto r = scanner.scan();
    ASSERT_EQ(r.processes.size(), 1u);
    ppid = r.processes[0].ppid;
  }
  // Its parent died: the kernel reparents it (to 1). Trusted, it is not read
  // again until the recheck, and keeps being reported meanwhile.
  const std::string stat = slurp(pid_dir_() / "stat");
  const std::string old_ppid = " S " + std::to_string(ppid) + " ";
  ASSERT_NE(stat.find(old_ppid), std::string::npos) << stat;
  put(pid_dir_() / "stat", replaced(stat, old_ppid, " S 1 "));
  unsigned scans = ProcessScanner::kTrustAfter;
  pid_t seen = ppid;
  while (seen == ppid && scans < ProcessScanner::kRecheckEvery) {
    const auto r = scanner.scan();
    ASSERT_EQ(r.processes.size(), 1u);
    seen = r.processes[0].ppid;
    ++scans;
  }
  EXPECT_EQ(seen, 1);
  EXPECT_EQ(scans, ProcessScanner::kRecheckEvery);
}

TEST_F(ScannerTest, AnExitedProcessIsForgotten) {
  ProcessScanner scanner(root_.string(), std::regex("sleep"), 64, -1);
  EXPECT_EQ(scanner.scan().processes.size(), 1u);
  fs::remove_all(pid_dir_());
  const auto r = scanner.scan();
  EXPECT_TRUE(r.processes.empty());
  EXPECT_TRUE(r.errors.empty());
}

}  // namespace
}  // namespace ramflow::probe
