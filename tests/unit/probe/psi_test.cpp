#include "probe/psi.h"

#include <gtest/gtest.h>

#include "fixture.h"

namespace ramflow::probe {
namespace {

using namespace fx;

TEST(Psi, ReadsHostSomeAndFullLines) {
  const auto p = read_psi(kV1Proc + "/pressure/memory");
  ASSERT_TRUE(p) << p.error().message();
  EXPECT_DOUBLE_EQ(p.value().some_avg10, 0.24);
  EXPECT_DOUBLE_EQ(p.value().some_avg60, 0.08);
  EXPECT_DOUBLE_EQ(p.value().some_avg300, 0.01);
  EXPECT_EQ(p.value().some_total_us, 69809u);
  EXPECT_TRUE(p.value().has_full);
  EXPECT_DOUBLE_EQ(p.value().full_avg10, 0.0);
  EXPECT_EQ(p.value().full_total_us, 3261u);
}

TEST(Psi, ReadsACgroupV2PressureFile) {
  const auto p = read_psi(kV2CgroupRoot + kV2PodCgroup + "/memory.pressure");
  ASSERT_TRUE(p) << p.error().message();
  EXPECT_DOUBLE_EQ(p.value().some_avg10, 1.53);
  EXPECT_DOUBLE_EQ(p.value().full_avg60, 0.35);
  EXPECT_EQ(p.value().full_total_us, 1502207u);
}

TEST(Psi, OldKernelWithoutFullLineIsFine) {
  // Only a "some" line (host cpu before 5.13 looked so): psi-some-only is the real file cut there.
  const auto p = read_psi(fixture("psi-some-only/memory"));
  ASSERT_TRUE(p) << p.error().message();
  EXPECT_FALSE(p.value().has_full);
  EXPECT_DOUBLE_EQ(p.value().some_avg10, 0.24);
}

TEST(Psi, NoPsiOnThisKernelIsNotFound) {
  const auto p = read_psi(fixture("e2e/sys/fs/cgroup/memory/ramflow-fixture/memory.pressure"));
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error().kind, ErrorKind::kNotFound);
}

}  // namespace
}  // namespace ramflow::probe
