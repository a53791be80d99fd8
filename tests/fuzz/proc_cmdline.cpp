// /proc/PID/cmdline through read_cmdline: NUL-separated, cut at 4 KiB.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "check.h"
#include "probe/proc_stat.h"
#include "scratch_tree.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const ramflow::fuzz::ScratchTree tree;
  tree.write("1/cmdline", std::string_view(reinterpret_cast<const char*>(data), size));
  const auto args = ramflow::probe::read_cmdline(tree.root(), 1);
  RAMFLOW_FUZZ_CHECK(args.ok());  // any content is a command line
  std::size_t bytes = 0;
  for (const auto& a : args.value()) bytes += a.size() + 1;
  RAMFLOW_FUZZ_CHECK(bytes <= ramflow::probe::kMaxCmdlineBytes + 1);
  return 0;
}
