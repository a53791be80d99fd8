// A PSI file (host /proc/pressure/memory or a cgroup's memory.pressure) through read_psi.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "check.h"
#include "probe/psi.h"
#include "scratch_tree.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const ramflow::fuzz::ScratchTree tree;
  tree.write("pressure/memory", std::string_view(reinterpret_cast<const char*>(data), size));
  const auto psi = ramflow::probe::read_psi(tree.path("pressure/memory"));
  if (!psi) RAMFLOW_FUZZ_CHECK(!psi.error().message().empty());
  return 0;
}
