#include "probe/meminfo.h"

#include "probe/detail/fields.h"
#include "probe/detail/file_read.h"

namespace ramflow::probe {

using namespace detail;

Result<Meminfo> read_meminfo(const std::string& proc_root) {
  const std::string path = join_path(proc_root, "meminfo");
  Meminfo m;
  const Field fields[] = {
      {"MemTotal", &m.mem_total, Unit::kKiB},
      {"MemAvailable", &m.mem_available, Unit::kKiB},
  };
  if (auto e = read_fields(path, fields)) return *e;
  return m;
}

}  // namespace ramflow::probe
