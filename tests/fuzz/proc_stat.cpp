// /proc/PID/stat through read_proc_stat (comm with spaces and ')' included).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "check.h"
#include "probe/proc_stat.h"
#include "scratch_tree.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const ramflow::fuzz::ScratchTree tree;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  tree.write("1/stat", input);
  const auto stat = ramflow::probe::read_proc_stat(tree.root(), 1);
  if (stat) {
    RAMFLOW_FUZZ_CHECK(stat.value().comm.size() < size);
    (void)stat.value().is_kernel_thread();
  } else {
    RAMFLOW_FUZZ_CHECK(!stat.error().message().empty());
  }
  return 0;
}
