#include "probe/smaps_rollup.h"

#include "probe/detail/fields.h"
#include "probe/detail/file_read.h"

namespace ramflow::probe {

using namespace detail;

Result<SmapsRollup> read_smaps_rollup(const std::string& proc_root, pid_t pid) {
  const std::string path = join_path(proc_root, std::to_string(pid) + "/smaps_rollup");
  SmapsRollup r;
  const Field fields[] = {
      {"Rss", &r.rss, Unit::kKiB},
      {"Pss", &r.pss, Unit::kKiB},
      {"Pss_Anon", &r.pss_anon, Unit::kKiB, Presence::kOptional},
      {"Pss_File", &r.pss_file, Unit::kKiB, Presence::kOptional},
      {"Pss_Shmem", &r.pss_shmem, Unit::kKiB, Presence::kOptional},
      {"Shared_Clean", &r.shared_clean, Unit::kKiB},
      {"Shared_Dirty", &r.shared_dirty, Unit::kKiB},
      {"Private_Clean", &r.private_clean, Unit::kKiB},
      {"Private_Dirty", &r.private_dirty, Unit::kKiB},
      {"Swap", &r.swap, Unit::kKiB},
  };
  if (auto e = read_fields(path, fields)) return *e;
  return r;
}

}  // namespace ramflow::probe
