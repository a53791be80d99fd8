// /proc/PID/cgroup through read_memory_cgroup_path (v1 and v2 rules), then the
// cgroup directory it names; part 2 is the root's cgroup.controllers, read by
// detect_cgroup_version.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "check.h"
#include "probe/cgroup.h"
#include "scratch_tree.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace ramflow::probe;
  static const ramflow::fuzz::ScratchTree tree;
  ramflow::fuzz::write_parts(tree, ".", {"proc/1/cgroup", "cgroup/cgroup.controllers"},
                             std::string_view(reinterpret_cast<const char*>(data), size));
  const CgroupVersion detected = detect_cgroup_version(tree.path("cgroup"));
  RAMFLOW_FUZZ_CHECK(detected != CgroupVersion::kV1);  // no memory/memory.usage_in_bytes here
  for (const CgroupVersion version : {CgroupVersion::kV1, CgroupVersion::kV2}) {
    const auto relative = read_memory_cgroup_path(tree.path("proc"), 1, version);
    if (!relative) {
      RAMFLOW_FUZZ_CHECK(!relative.error().message().empty());
      continue;
    }
    RAMFLOW_FUZZ_CHECK(relative.value().find('\n') == std::string::npos);
    const std::string dir = memory_cgroup_dir(tree.path("cgroup"), version, relative.value());
    RAMFLOW_FUZZ_CHECK(dir.rfind(tree.path("cgroup"), 0) == 0);
  }
  return 0;
}
