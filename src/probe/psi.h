// Pressure stall information (PSI) for memory: host or cgroup v2.
#pragma once

#include <cstdint>
#include <string>

#include "probe/result.h"

namespace ramflow::probe {

// Averages are percentages (0..100) of wall time stalled; totals are microseconds.
struct Psi {
  double some_avg10 = 0, some_avg60 = 0, some_avg300 = 0;
  double full_avg10 = 0, full_avg60 = 0, full_avg300 = 0;
  std::uint64_t some_total_us = 0;
  std::uint64_t full_total_us = 0;
  bool has_full = false;  // a file with only "some" (like host cpu before 5.13) is accepted
};

// file: "<proc_root>/pressure/memory" (host) or "<cgroup dir>/memory.pressure".
// No PSI on this kernel (CONFIG_PSI off, psi=0) gives kNotFound or kIo (EOPNOTSUPP).
Result<Psi> read_psi(const std::string& file);

}  // namespace ramflow::probe
