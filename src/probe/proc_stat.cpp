#include "probe/proc_stat.h"

#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <memory>

#include "probe/detail/fields.h"
#include "probe/detail/file_read.h"

namespace ramflow::probe {

using namespace detail;

namespace {
constexpr std::uint32_t kPfKthread = 0x00200000;  // PF_KTHREAD, include/linux/sched.h
}  // namespace

bool ProcStat::is_kernel_thread() const { return (flags & kPfKthread) != 0; }

Result<ProcStat> read_proc_stat_file(const std::string& path) {
  auto text = read_file(path);
  if (!text) return text.error();
  const std::string_view t = text.value();
  if (auto e = require_complete(t, path)) return *e;
  const auto bad = [&](const char* what) { return ReadError{ErrorKind::kMalformed, path, what}; };
  // "PID (COMM) S PPID ...": comm may hold ')' itself, so split at the last one.
  const std::size_t open = t.find(" (");
  const std::size_t close = t.rfind(')');
  if (open == std::string_view::npos || close == std::string_view::npos || close < open)
    return bad("no \"(comm)\" field");
  const auto pid = parse_u64(t.substr(0, open));
  const auto f = split_whitespace(t.substr(close + 1));
  // f[i] is field i+3 of proc(5): state=3, ppid=4, flags=9, utime=14, stime=15, starttime=22.
  if (!pid || f.size() < 20 || f[0].size() != 1) return bad("too few or garbled fields");
  const auto ppid = parse_u64(f[1]);
  const auto flags = parse_u64(f[6]);
  const auto utime = parse_u64(f[11]);
  const auto stime = parse_u64(f[12]);
  const auto start = parse_u64(f[19]);
  if (!ppid || !flags || !utime || !stime || !start) return bad("garbled number");
  ProcStat s;
  s.pid = static_cast<pid_t>(*pid);
  s.comm = std::string(t.substr(open + 2, close - open - 2));
  s.state = f[0][0];
  s.ppid = static_cast<pid_t>(*ppid);
  s.flags = static_cast<std::uint32_t>(*flags);
  s.utime_ticks = *utime;
  s.stime_ticks = *stime;
  s.start_time_ticks = *start;
  return s;
}

Result<ProcStat> read_proc_stat(const std::string& proc_root, pid_t pid) {
  return read_proc_stat_file(join_path(proc_root, std::to_string(pid) + "/stat"));
}

Result<std::vector<std::string>> read_cmdline(const std::string& proc_root, pid_t pid) {
  const std::string path = join_path(proc_root, std::to_string(pid) + "/cmdline");
  auto text = read_file(path, kMaxCmdlineBytes, Overflow::kTruncate);
  if (!text) return text.error();
  std::vector<std::string> args;
  std::string_view t = text.value();
  while (!t.empty()) {
    const std::size_t nul = t.find('\0');
    args.emplace_back(t.substr(0, nul));
    if (nul == std::string_view::npos) break;
    t.remove_prefix(nul + 1);
  }
  return args;
}

Result<std::vector<PidEntry>> list_pid_entries(const std::string& proc_root) {
  std::unique_ptr<DIR, int (*)(DIR*)> dir(::opendir(proc_root.c_str()), ::closedir);
  if (!dir) return error_from_errno(errno, proc_root);
  std::vector<PidEntry> entries;
  while (const dirent* e = ::readdir(dir.get())) {
    const auto n = parse_u64(e->d_name);
    if (n && *n > 0 && *n <= 0x7fffffff) entries.push_back({static_cast<pid_t>(*n), static_cast<std::uint64_t>(e->d_ino)});
  }
  std::sort(entries.begin(), entries.end(), [](const PidEntry& a, const PidEntry& b) { return a.pid < b.pid; });
  return entries;
}

Result<std::vector<pid_t>> list_pids(const std::string& proc_root) {
  auto entries = list_pid_entries(proc_root);
  if (!entries) return entries.error();
  std::vector<pid_t> pids;
  pids.reserve(entries.value().size());
  for (const auto& e : entries.value()) pids.push_back(e.pid);
  return pids;
}

Result<double> read_uptime_seconds(const std::string& proc_root) {
  const std::string path = join_path(proc_root, "uptime");
  auto text = read_file(path);
  if (!text) return text.error();
  if (auto e = require_complete(text.value(), path)) return *e;
  const auto f = split_whitespace(text.value());
  if (f.size() == 2)
    if (auto v = parse_double(f[0]); v && *v >= 0) return *v;
  return ReadError{ErrorKind::kMalformed, path, "expected \"UPTIME IDLE\""};
}

long clock_ticks_per_second() {
  static const long hz = ::sysconf(_SC_CLK_TCK);
  return hz;
}

}  // namespace ramflow::probe
