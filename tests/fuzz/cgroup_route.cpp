// The route finder (locate_memory_cgroup) on a worker whose /proc/1/cgroup,
// /proc/1/mountinfo and cgroup.procs files (under the sidecar's cgroup root and
// inside the worker's root at the v1 and v2 mount points) are the input's parts,
// in that order. Whatever they say, the answer is a route whose directory
// listed pid 1, or "unreachable" saying what is missing and what would help.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "check.h"
#include "probe/cgroup_route.h"
#include "probe/mountinfo.h"
#include "scratch_tree.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace ramflow::probe;
  static const ramflow::fuzz::ScratchTree tree;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  ramflow::fuzz::write_parts(tree, ".",
                             {"proc/1/cgroup", "proc/1/mountinfo", "cgroup/memory/w/cgroup.procs",
                              "proc/1/root/sys/fs/cgroup/memory/cgroup.procs", "proc/1/root/sys/fs/cgroup/cgroup.procs"},
                             input);
  for (const CgroupVersion version : {CgroupVersion::kV1, CgroupVersion::kV2}) {
    const auto mounts = parse_memory_cgroup_mounts(input, "input", version);
    if (mounts) {
      for (const auto& m : mounts.value()) RAMFLOW_FUZZ_CHECK(m.mount_point.find('\n') == std::string::npos);
    }
    const auto loc = locate_memory_cgroup(tree.path("proc"), tree.path("cgroup"), version, 1);
    if (!loc) {
      RAMFLOW_FUZZ_CHECK(!loc.error().message().empty());
      continue;
    }
    const CgroupLocation& l = loc.value();
    if (l.route == CgroupRoute::kUnreachable) {
      RAMFLOW_FUZZ_CHECK(!l.missing.empty() && !l.remedy.empty() && l.dir.empty());
    } else {
      RAMFLOW_FUZZ_CHECK(l.route == CgroupRoute::kCgroupRoot || l.route == CgroupRoute::kWorkerMount);
      RAMFLOW_FUZZ_CHECK(l.missing.empty());
      const std::string dir = cgroup_dir_for(tree.path("proc"), l, 1);
      RAMFLOW_FUZZ_CHECK(!dir.empty());
    }
  }
  return 0;
}
