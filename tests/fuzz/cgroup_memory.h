// One memory cgroup directory written from a fuzz input (one part per file, in
// `files` order; see split_parts), then read by read_cgroup_memory.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "probe/cgroup.h"

namespace ramflow::fuzz {

void fuzz_cgroup_memory(probe::CgroupVersion version, const std::vector<std::string_view>& files,
                        std::string_view input);

}  // namespace ramflow::fuzz
