#include "probe/proc_stat.h"

#include <gtest/gtest.h>

#include "fixture.h"

namespace ramflow::probe {
namespace {

using namespace fx;

TEST(ProcStat, ReadsStateParentAndStartTime) {
  const auto s = read_proc_stat(kV1Proc, kMainPid);
  ASSERT_TRUE(s) << s.error().message();
  EXPECT_EQ(s.value().pid, kMainPid);
  EXPECT_EQ(s.value().comm, "python3");
  EXPECT_EQ(s.value().state, 'S');
  EXPECT_EQ(s.value().ppid, 12661);
  EXPECT_EQ(s.value().utime_ticks, 2u);
  EXPECT_EQ(s.value().stime_ticks, 8u);
  EXPECT_EQ(s.value().start_time_ticks, 56966u);
  EXPECT_FALSE(s.value().is_kernel_thread());
}

TEST(ProcStat, CommWithSpacesAndClosingParenthesisIsSplitAtTheLastOne) {
  const auto s = read_proc_stat(kV1Proc, kOddCommPid);
  ASSERT_TRUE(s) << s.error().message();
  EXPECT_EQ(s.value().comm, "ml) job (1");
  EXPECT_EQ(s.value().state, 'S');
  EXPECT_EQ(s.value().ppid, 12661);
  EXPECT_EQ(s.value().start_time_ticks, 57113u);
}

TEST(ProcStat, RecognisesAKernelThreadByItsFlags) {
  const auto s = read_proc_stat(kV1Proc, kKthreaddPid);
  ASSERT_TRUE(s) << s.error().message();
  EXPECT_EQ(s.value().comm, "kthreadd");
  EXPECT_TRUE(s.value().is_kernel_thread());
}

TEST(Cmdline, SplitsArgumentsAtNul) {
  const auto c = read_cmdline(kV1Proc, kMainPid);
  ASSERT_TRUE(c) << c.error().message();
  const std::vector<std::string> want{"/usr/bin/python3", "-m", "celery", "-A", "proj", "worker",
                                      "--pool=prefork", "--concurrency=2", "--loglevel=INFO"};
  EXPECT_EQ(c.value(), want);
}

TEST(Cmdline, KernelThreadHasNone) {
  const auto c = read_cmdline(kV1Proc, kKthreaddPid);
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_TRUE(c.value().empty());
}

TEST(Cmdline, ExitedProcessIsNotFound) {
  const auto c = read_cmdline(kV1Proc, 999999);
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().kind, ErrorKind::kNotFound);
}

TEST(ListPids, ListsOnlyNumericEntriesInOrder) {
  const auto p = list_pids(kV1Proc);
  ASSERT_TRUE(p) << p.error().message();
  const std::vector<pid_t> want{kKthreaddPid, kMainPid, kChild1Pid, kChild2Pid, kOddCommPid, kSleepPid};
  EXPECT_EQ(p.value(), want);
}

TEST(ListPids, MissingProcRootIsNotFound) {
  const auto p = list_pids(fixture("no-such-proc"));
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error().kind, ErrorKind::kNotFound);
}

TEST(Uptime, ReadsSecondsSinceBoot) {
  const auto u = read_uptime_seconds(kV1Proc);
  ASSERT_TRUE(u) << u.error().message();
  EXPECT_DOUBLE_EQ(u.value(), 571.81);
}

TEST(ClockTicks, IsUserHz) { EXPECT_GT(clock_ticks_per_second(), 0); }

}  // namespace
}  // namespace ramflow::probe
