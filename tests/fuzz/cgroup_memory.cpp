#include "cgroup_memory.h"

#include "check.h"
#include "scratch_tree.h"

namespace ramflow::fuzz {

void fuzz_cgroup_memory(probe::CgroupVersion version, const std::vector<std::string_view>& files,
                        std::string_view input) {
  static const ScratchTree tree;
  write_parts(tree, "cg", files, input);
  const auto memory = probe::read_cgroup_memory(tree.path("cg"), version);
  if (!memory) {
    RAMFLOW_FUZZ_CHECK(memory.error().kind == probe::ErrorKind::kMalformed);  // the directory exists
    RAMFLOW_FUZZ_CHECK(!memory.error().message().empty());
    return;
  }
  const auto& m = memory.value();
  RAMFLOW_FUZZ_CHECK(m.version == version);
  RAMFLOW_FUZZ_CHECK(m.working_set() <= m.usage);
  RAMFLOW_FUZZ_CHECK(!m.limit || *m.limit < (std::uint64_t{1} << 62));  // else unlimited
  (void)m.nonreclaimable();  // may wrap on absurd input; unsigned, so defined
  for (const auto& e : m.optional_errors) RAMFLOW_FUZZ_CHECK(!e.message().empty());
}

}  // namespace ramflow::fuzz
