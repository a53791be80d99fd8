// A cgroup v2 memory directory: current, max, stat, then the optional files.
#include "cgroup_memory.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  ramflow::fuzz::fuzz_cgroup_memory(ramflow::probe::CgroupVersion::kV2,
                                    {"memory.current", "memory.max", "memory.stat", "memory.peak",
                                     "memory.events", "memory.pressure"},
                                    std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
