// /proc/PID/smaps_rollup: PSS and USS, on a slow cadence (reading it walks the
// whole address space and stalls the target on large heaps).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

#include "probe/result.h"

namespace ramflow::probe {

// Sizes in bytes.
struct SmapsRollup {
  std::uint64_t rss = 0;
  std::uint64_t pss = 0;
  std::uint64_t pss_anon = 0;   // absent before Linux 5.7: 0
  std::uint64_t pss_file = 0;   // idem
  std::uint64_t pss_shmem = 0;  // idem
  std::uint64_t shared_clean = 0;
  std::uint64_t shared_dirty = 0;
  std::uint64_t private_clean = 0;
  std::uint64_t private_dirty = 0;
  std::uint64_t swap = 0;

  // Unique set size: the pages only this process maps.
  std::uint64_t uss() const { return private_clean + private_dirty; }
};

// Another UID's process without SYS_PTRACE: kPermissionDenied.
Result<SmapsRollup> read_smaps_rollup(const std::string& proc_root, pid_t pid);

}  // namespace ramflow::probe
