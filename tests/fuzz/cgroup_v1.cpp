// A cgroup v1 memory directory: usage, limit, stat, then the optional files.
#include "cgroup_memory.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  ramflow::fuzz::fuzz_cgroup_memory(ramflow::probe::CgroupVersion::kV1,
                                    {"memory.usage_in_bytes", "memory.limit_in_bytes", "memory.stat",
                                     "memory.max_usage_in_bytes", "memory.oom_control", "memory.pressure"},
                                    std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
