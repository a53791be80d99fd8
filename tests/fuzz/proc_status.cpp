// /proc/PID/status through read_proc_status: parsed or a ReadError, never a crash.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "check.h"
#include "probe/proc_status.h"
#include "scratch_tree.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const ramflow::fuzz::ScratchTree tree;
  tree.write("1/status", std::string_view(reinterpret_cast<const char*>(data), size));
  const auto status = ramflow::probe::read_proc_status(tree.root(), 1);
  if (status) {
    const auto& s = status.value();
    RAMFLOW_FUZZ_CHECK(s.vm_rss % 1024 == 0 && s.vm_hwm % 1024 == 0);  // kB lines, in bytes
    RAMFLOW_FUZZ_CHECK(s.name.find('\n') == std::string::npos);
  } else {
    RAMFLOW_FUZZ_CHECK(!status.error().message().empty());
  }
  return 0;
}
