#include "probe/proc_status.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fixture.h"

namespace ramflow::probe {
namespace {

using namespace fx;

TEST(ProcStatus, ReadsMemoryCountersOfARealPythonProcessInBytes) {
  const auto s = read_proc_status(kV1Proc, kMainPid);
  ASSERT_TRUE(s) << s.error().message();
  EXPECT_EQ(s.value().name, "python3");
  EXPECT_EQ(s.value().pid, kMainPid);
  EXPECT_EQ(s.value().ppid, 12661);
  EXPECT_EQ(s.value().uid, 0u);
  EXPECT_EQ(s.value().vm_rss, 52448 * kKiB);
  EXPECT_EQ(s.value().vm_hwm, 58284 * kKiB);
  EXPECT_EQ(s.value().rss_anon, 46808 * kKiB);
  EXPECT_EQ(s.value().rss_file, 5640 * kKiB);
  EXPECT_EQ(s.value().rss_shmem, 0u);
  EXPECT_EQ(s.value().vm_swap, 0u);
}

TEST(ProcStatus, KeepsANameWithSpacesAndParentheses) {
  const auto s = read_proc_status(kV1Proc, kOddCommPid);
  ASSERT_TRUE(s) << s.error().message();
  EXPECT_EQ(s.value().name, "ml) job (1");
  EXPECT_EQ(s.value().vm_rss, 9544 * kKiB);
}

TEST(ProcStatus, KernelThreadHasNoMemoryLinesAndIsNotAnError) {
  const auto s = read_proc_status(kV1Proc, kKthreaddPid);
  ASSERT_TRUE(s) << s.error().message();
  EXPECT_EQ(s.value().name, "kthreadd");
  EXPECT_EQ(s.value().vm_rss, 0u);
  EXPECT_EQ(s.value().vm_hwm, 0u);
}

TEST(ProcStatus, ExitedProcessIsNotFound) {
  const auto s = read_proc_status(kV1Proc, 999999);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().kind, ErrorKind::kNotFound);
  EXPECT_EQ(s.error().path, kV1Proc + "/999999/status");
}

TEST(ProcStatus, AZombieHasExitedEvenBeforeItIsReaped) {  // a real zombie of this test
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) ::_exit(0);
  // Wait until the kernel shows it as a zombie, without reaping it.
  siginfo_t info{};
  ASSERT_EQ(::waitid(P_PID, static_cast<id_t>(child), &info, WEXITED | WNOWAIT), 0);
  const auto s = read_proc_status("/proc", child);
  ::waitpid(child, nullptr, 0);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().kind, ErrorKind::kNotFound) << s.error().message();
}

}  // namespace
}  // namespace ramflow::probe
