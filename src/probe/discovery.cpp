#include "probe/discovery.h"

#include <algorithm>
#include <tuple>
#include <unordered_set>

#include "probe/proc_stat.h"

namespace ramflow::probe {

std::string_view to_string(DiscoveredProcess::Role role) {
  switch (role) {
    case DiscoveredProcess::Role::kMain: return "main";
    case DiscoveredProcess::Role::kChild: return "child";
    case DiscoveredProcess::Role::kStandalone: return "standalone";
  }
  return "standalone";
}

namespace {

std::string joined(const std::vector<std::string>& args) {
  std::string s;
  for (const auto& a : args) {
    if (!s.empty()) s += ' ';
    s += a;
  }
  return s;
}

void assign_roles(std::vector<DiscoveredProcess>& procs) {
  std::unordered_set<pid_t> matched, parents;
  for (const auto& p : procs) matched.insert(p.pid);
  for (const auto& p : procs)
    if (matched.count(p.ppid)) parents.insert(p.ppid);
  for (auto& p : procs) {
    if (matched.count(p.ppid)) p.role = DiscoveredProcess::Role::kChild;
    else if (parents.count(p.pid)) p.role = DiscoveredProcess::Role::kMain;
    else p.role = DiscoveredProcess::Role::kStandalone;
  }
}

}  // namespace

DiscoveryResult discover_processes(const std::string& proc_root, const std::regex& match,
                                   std::size_t max_processes, pid_t self_pid) {
  return ProcessScanner(proc_root, match, max_processes, self_pid).scan();
}

ProcessScanner::ProcessScanner(std::string proc_root, std::regex match, std::size_t max_processes,
                               pid_t self_pid)
    : proc_root_(std::move(proc_root)),
      match_(std::move(match)),
      max_processes_(max_processes),
      self_pid_(self_pid) {}

DiscoveryResult ProcessScanner::scan() {
  DiscoveryResult result;
  auto pids = list_pid_entries(proc_root_);
  if (!pids) {
    result.errors.push_back(pids.error());
    return result;
  }
  // A process that exits mid-scan shows up as kNotFound: skip it silently.
  const auto keep_error = [&](const ReadError& e) {
    if (e.kind != ErrorKind::kNotFound) result.errors.push_back(e);
  };
  std::unordered_map<pid_t, Verdict> seen;
  seen.reserve(pids.value().size());
  const bool recheck = ++scans_ % kRecheckEvery == 0;
  for (const auto [pid, inode] : pids.value()) {
    if (pid == self_pid_) continue;
    auto known = seen_.find(pid);
    // Same /proc inode and the same verdict a few scans in a row: no file read
    // at all. A watched worker's memory is read by the sampler anyway; its
    // ppid (for the role) is refreshed by the periodic recheck.
    if (!recheck && known != seen_.end() && inode != 0 && known->second.inode == inode &&
        known->second.confirmations >= kTrustAfter) {
      const Verdict& v = seen.emplace(pid, std::move(known->second)).first->second;
      if (v.matched) result.processes.push_back({pid, v.ppid, v.start_time_ticks, v.comm, v.cmdline, {}});
      continue;
    }
    auto stat = read_proc_stat(proc_root_, pid);
    if (!stat) {
      keep_error(stat.error());
      continue;
    }
    ProcStat& s = stat.value();
    if (s.is_kernel_thread() || s.state == 'Z' || s.state == 'X') {
      seen.emplace(pid, Verdict{inode, s.start_time_ticks, s.comm, false, {}, kTrustAfter});
      continue;
    }
    if (known == seen_.end() || known->second.start_time_ticks != s.start_time_ticks ||
        known->second.comm != s.comm) {
      auto cmdline = read_cmdline(proc_root_, pid);
      if (!cmdline) {
        keep_error(cmdline.error());
        if (cmdline.error().kind == ErrorKind::kNotFound) continue;
      }
      std::vector<std::string> args = cmdline ? std::move(cmdline).value() : std::vector<std::string>{};
      const bool matched = std::regex_search(s.comm, match_) || std::regex_search(joined(args), match_);
      if (!matched) args.clear();
      known = seen_.insert_or_assign(pid, Verdict{inode, s.start_time_ticks, s.comm, matched, std::move(args), 0}).first;
    }
    known->second.inode = inode;
    known->second.ppid = s.ppid;
    ++known->second.confirmations;
    const Verdict& v = seen.emplace(pid, std::move(known->second)).first->second;
    if (v.matched)
      result.processes.push_back({pid, s.ppid, s.start_time_ticks, std::move(s.comm), v.cmdline, {}});
  }
  seen_ = std::move(seen);  // forget pids that are gone
  assign_roles(result.processes);
  result.matched_total = result.processes.size();
  const auto rank = [](const DiscoveredProcess& p) {
    return std::tuple(p.role != DiscoveredProcess::Role::kMain, p.start_time_ticks, p.pid);
  };
  std::sort(result.processes.begin(), result.processes.end(),
            [&](const auto& a, const auto& b) { return rank(a) < rank(b); });
  if (result.processes.size() > max_processes_) result.processes.resize(max_processes_);
  return result;
}

}  // namespace ramflow::probe
