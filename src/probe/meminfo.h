// /proc/meminfo: the host facts used when the cgroup has no limit.
#pragma once

#include <cstdint>
#include <string>

#include "probe/result.h"

namespace ramflow::probe {

struct Meminfo {
  std::uint64_t mem_total = 0;      // bytes
  std::uint64_t mem_available = 0;  // bytes; Linux >= 3.14
};

Result<Meminfo> read_meminfo(const std::string& proc_root);

}  // namespace ramflow::probe
