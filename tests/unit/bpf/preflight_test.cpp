// The checks run before libbpf is touched, on this machine's kernel.
#include "bpf/preflight.h"

#include <gtest/gtest.h>
#include <linux/capability.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace ramflow::bpf {
namespace {

// The effective set straight from the kernel (capget), to compare with.
unsigned long long capget_effective() {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2]{};
  if (::syscall(SYS_capget, &header, data) != 0) return ~0ULL;
  return (static_cast<unsigned long long>(data[1].effective) << 32) | data[0].effective;
}

TEST(Preflight, AMissingBtfNamesThePathAndTheKernelOption) {
  const std::string problem = preflight_problem("/nonexistent/btf/vmlinux");
  EXPECT_NE(problem.find("/nonexistent/btf/vmlinux"), std::string::npos) << problem;
  EXPECT_NE(problem.find("CONFIG_DEBUG_INFO_BTF"), std::string::npos) << problem;
}

TEST(Preflight, ReadsTheEffectiveCapabilitiesTheKernelGrants) {
  unsigned long long mask = 0;
  std::string error;
  ASSERT_TRUE(effective_caps(&mask, &error)) << error;
  EXPECT_EQ(mask, capget_effective());
}

bool may_load_tracing_programs() {
  const unsigned long long caps = capget_effective();
  auto has = [caps](int cap) { return ((caps >> cap) & 1ULL) != 0; };
  return (has(CAP_BPF) && has(CAP_PERFMON)) || has(CAP_SYS_ADMIN);
}

TEST(Preflight, WithTheCapabilitiesAndTheKernelsBtfThereIsNoProblem) {
  if (!may_load_tracing_programs()) GTEST_SKIP() << "needs CAP_BPF + CAP_PERFMON or CAP_SYS_ADMIN (run as root)";
  if (::access("/sys/kernel/btf/vmlinux", R_OK) != 0) GTEST_SKIP() << "this kernel has no /sys/kernel/btf/vmlinux";
  EXPECT_EQ(preflight_problem("/sys/kernel/btf/vmlinux"), "");
}

TEST(Preflight, WithoutCapabilitiesTheProblemSaysWhichToAdd) {
  if (may_load_tracing_programs()) GTEST_SKIP() << "this process holds the capabilities; run as a user to see this";
  if (::access("/sys/kernel/btf/vmlinux", R_OK) != 0) GTEST_SKIP() << "this kernel has no /sys/kernel/btf/vmlinux";
  const std::string problem = preflight_problem("/sys/kernel/btf/vmlinux");
  EXPECT_NE(problem.find("CAP_BPF"), std::string::npos) << problem;
  EXPECT_NE(problem.find("--ebpf off"), std::string::npos) << problem;
}

}  // namespace
}  // namespace ramflow::bpf
