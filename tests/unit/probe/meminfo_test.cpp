#include "probe/meminfo.h"

#include <gtest/gtest.h>

#include "fixture.h"

namespace ramflow::probe {
namespace {

using namespace fx;

TEST(Meminfo, ReadsTotalAndAvailableInBytes) {
  const auto m = read_meminfo(kV1Proc);
  ASSERT_TRUE(m) << m.error().message();
  EXPECT_EQ(m.value().mem_total, 24683656 * kKiB);
  EXPECT_EQ(m.value().mem_available, 23457112 * kKiB);
}

}  // namespace
}  // namespace ramflow::probe
