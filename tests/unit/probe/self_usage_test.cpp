// Reads this test process through the real /proc (no fixture has a "self").
#include "probe/self_usage.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include "fixture.h"

namespace ramflow::probe {
namespace {

TEST(SelfUsage, ReadsOurOwnResidentMemoryAndCpu) {
  const auto u = read_self_usage("/proc");
  ASSERT_TRUE(u) << u.error().message();
  EXPECT_GT(u.value().resident_bytes, 1u << 20);
  EXPECT_GE(u.value().cpu_seconds, 0.0);
}

TEST(SelfUsage, SelfPidIsOursOnTheRealProc) { EXPECT_EQ(self_pid("/proc"), ::getpid()); }

TEST(SelfUsage, FixtureTreeHasNoSelf) {
  EXPECT_FALSE(self_pid(fx::kV1Proc));
  const auto u = read_self_usage(fx::kV1Proc);
  ASSERT_FALSE(u);
  EXPECT_EQ(u.error().kind, ErrorKind::kNotFound);
}

}  // namespace
}  // namespace ramflow::probe
