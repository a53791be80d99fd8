#include "model/process_table.h"

#include <set>

namespace ramflow::model {

std::vector<ProcessFacts> ProcessTable::reconcile(const std::vector<Candidate>& candidates, double now) {
  std::vector<ProcessFacts> gone;
  std::set<pid_t> present;
  for (const auto& c : candidates) {
    const auto& p = c.process;
    present.insert(p.pid);
    auto it = processes_.find(p.pid);
    if (it != processes_.end() && it->second.start_ticks != p.start_time_ticks) {
      gone.push_back(std::move(it->second));  // pid reused by a new process
      processes_.erase(it);
      it = processes_.end();
    }
    if (it == processes_.end()) {
      ProcessFacts f;
      f.pid = p.pid;
      f.start_ticks = p.start_time_ticks;
      f.first_seen = now;
      it = processes_.emplace(p.pid, std::move(f)).first;
    }
    ProcessFacts& f = it->second;
    f.ppid = p.ppid;
    f.comm = p.comm;
    f.cmdline = p.cmdline;
    f.via_agent_only = c.via_agent_only;
  }
  for (auto it = processes_.begin(); it != processes_.end();) {
    if (present.count(it->first) == 0) {
      gone.push_back(std::move(it->second));
      it = processes_.erase(it);
    } else {
      ++it;
    }
  }
  return gone;
}

ProcessFacts* ProcessTable::find(pid_t pid) {
  auto it = processes_.find(pid);
  return it == processes_.end() ? nullptr : &it->second;
}

}  // namespace ramflow::model
