#include "probe/smaps_rollup.h"

#include <gtest/gtest.h>

#include "fixture.h"

namespace ramflow::probe {
namespace {

using namespace fx;

TEST(SmapsRollup, ReadsPssAndUssOfAPreforkMain) {
  const auto r = read_smaps_rollup(kV1Proc, kMainPid);
  ASSERT_TRUE(r) << r.error().message();
  const SmapsRollup& s = r.value();
  EXPECT_EQ(s.rss, 52448 * kKiB);
  EXPECT_EQ(s.pss, 18316 * kKiB);
  EXPECT_EQ(s.pss_anon, 17296 * kKiB);
  EXPECT_EQ(s.pss_file, 1019 * kKiB);
  EXPECT_EQ(s.pss_shmem, 0u);
  EXPECT_EQ(s.shared_clean, 5640 * kKiB);
  EXPECT_EQ(s.shared_dirty, 44268 * kKiB);
  EXPECT_EQ(s.private_clean, 0u);
  EXPECT_EQ(s.private_dirty, 2540 * kKiB);
  EXPECT_EQ(s.swap, 0u);
  EXPECT_EQ(s.uss(), 2540 * kKiB);
}

TEST(SmapsRollup, ChildSharesMostOfItsPagesWithTheMain) {
  const auto r = read_smaps_rollup(kV1Proc, kChild1Pid);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r.value().rss, 59672 * kKiB);
  EXPECT_EQ(r.value().pss, 27784 * kKiB);
  EXPECT_EQ(r.value().uss(), 12496 * kKiB);  // its own 12 MiB ballast
}

TEST(SmapsRollup, UssCountsPrivateCleanToo) {
  const auto r = read_smaps_rollup(kV1Proc, kOddCommPid);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r.value().uss(), (188 + 3656) * kKiB);
}

TEST(SmapsRollup, KernelThreadWithoutTheFileIsNotFound) {
  const auto r = read_smaps_rollup(kV1Proc, kKthreaddPid);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ErrorKind::kNotFound);
}

}  // namespace
}  // namespace ramflow::probe
