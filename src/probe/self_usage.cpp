#include "probe/self_usage.h"

#include <climits>
#include <unistd.h>

#include "probe/detail/fields.h"
#include "probe/detail/file_read.h"
#include "probe/proc_stat.h"
#include "probe/proc_status.h"

namespace ramflow::probe {

using namespace detail;

Result<SelfUsage> read_self_usage(const std::string& proc_root) {
  const auto stat = read_proc_stat_file(join_path(proc_root, "self/stat"));
  if (!stat) return stat.error();
  const auto status = read_proc_status_file(join_path(proc_root, "self/status"));
  if (!status) return status.error();
  const auto& s = stat.value();
  return SelfUsage{static_cast<double>(s.utime_ticks + s.stime_ticks) /
                       static_cast<double>(clock_ticks_per_second()),
                   status.value().vm_rss};
}

std::optional<pid_t> self_pid(const std::string& proc_root) {
  char buf[32];
  const ssize_t n = ::readlink(join_path(proc_root, "self").c_str(), buf, sizeof buf - 1);
  if (n <= 0) return std::nullopt;
  const auto pid = parse_u64(std::string_view(buf, static_cast<std::size_t>(n)));
  if (!pid || *pid == 0 || *pid > INT_MAX) return std::nullopt;
  return static_cast<pid_t>(*pid);
}

}  // namespace ramflow::probe
