// The host-wide /proc files: meminfo and uptime, one part each (see split_parts).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "check.h"
#include "probe/meminfo.h"
#include "probe/proc_stat.h"
#include "scratch_tree.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const ramflow::fuzz::ScratchTree tree;
  ramflow::fuzz::write_parts(tree, ".", {"meminfo", "uptime"},
                             std::string_view(reinterpret_cast<const char*>(data), size));
  const auto meminfo = ramflow::probe::read_meminfo(tree.root());
  if (meminfo) RAMFLOW_FUZZ_CHECK(meminfo.value().mem_total % 1024 == 0);
  else RAMFLOW_FUZZ_CHECK(!meminfo.error().message().empty());
  const auto uptime = ramflow::probe::read_uptime_seconds(tree.root());
  if (uptime) RAMFLOW_FUZZ_CHECK(uptime.value() >= 0);
  else RAMFLOW_FUZZ_CHECK(!uptime.error().message().empty());
  return 0;
}
