// /proc/PID/smaps_rollup through read_smaps_rollup.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "check.h"
#include "probe/smaps_rollup.h"
#include "scratch_tree.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const ramflow::fuzz::ScratchTree tree;
  tree.write("1/smaps_rollup", std::string_view(reinterpret_cast<const char*>(data), size));
  const auto rollup = ramflow::probe::read_smaps_rollup(tree.root(), 1);
  if (rollup) {
    const auto& r = rollup.value();
    RAMFLOW_FUZZ_CHECK(r.pss % 1024 == 0 && r.rss % 1024 == 0);
    (void)r.uss();
  } else {
    RAMFLOW_FUZZ_CHECK(!rollup.error().message().empty());
  }
  return 0;
}
