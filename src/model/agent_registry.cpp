#include "model/agent_registry.h"

#include <algorithm>

namespace ramflow::model {

AgentRegistry::AgentRegistry(std::size_t max_processes, std::size_t max_functions)
    : max_processes_(max_processes), functions_(max_functions) {}

AgentFacts& AgentRegistry::facts(pid_t pid, double now) {
  auto it = processes_.find(pid);
  if (it != processes_.end()) {
    it->second.last_heard = std::max(it->second.last_heard, now);
    return it->second;
  }
  if (processes_.size() >= max_processes_) {
    // Evict the disconnected process heard from longest ago, else the oldest.
    auto victim = processes_.begin();
    for (auto p = processes_.begin(); p != processes_.end(); ++p) {
      bool better = (!p->second.connected && victim->second.connected) ||
                    (p->second.connected == victim->second.connected &&
                     p->second.last_heard < victim->second.last_heard);
      if (better) victim = p;
    }
    processes_.erase(victim);
  }
  AgentFacts& f = processes_[pid];
  f.pid = pid;
  f.first_heard = now;
  f.last_heard = now;
  return f;
}

void AgentRegistry::connected(pid_t pid, uid_t uid, double now) {
  std::lock_guard lock(mu_);
  AgentFacts& f = facts(pid, now);
  f.uid = uid;
  f.connected = true;
}

void AgentRegistry::disconnected(pid_t pid, double now) {
  std::lock_guard lock(mu_);
  auto it = processes_.find(pid);
  if (it == processes_.end()) return;
  it->second.connected = false;
  it->second.last_heard = std::max(it->second.last_heard, now);
}

void AgentRegistry::hello(pid_t pid, AgentHello hello, double now) {
  std::lock_guard lock(mu_);
  facts(pid, now).hello = std::move(hello);
}

void AgentRegistry::bootstrap(pid_t pid, std::uint64_t rss, double time) {
  std::lock_guard lock(mu_);
  AgentFacts& f = facts(pid, time);
  f.bootstrap_rss = rss;
  f.bootstrap_time = time;
}

void AgentRegistry::ready(pid_t pid, std::uint64_t rss, std::optional<std::uint64_t> hwm, double time,
                          std::vector<ImportCost> imports) {
  std::lock_guard lock(mu_);
  AgentFacts& f = facts(pid, time);
  f.ready_rss = rss;
  f.ready_hwm = hwm;
  f.ready_time = time;
  std::sort(imports.begin(), imports.end(),
            [](const ImportCost& a, const ImportCost& b) { return a.bytes > b.bytes; });
  if (imports.size() > 20) imports.resize(20);
  f.imports = std::move(imports);
}

void AgentRegistry::task_started(pid_t pid, const std::string& task, double time) {
  std::lock_guard lock(mu_);
  AgentFacts& f = facts(pid, time);
  f.current_task = task;
  f.current_task_since = time;
  f.task_starts.push(TaskStart{task, time});
}

void AgentRegistry::call(pid_t pid, const std::string& label, CallKind kind, const CallOutcome& outcome,
                         double start_time, std::uint64_t rss_after, const TaskEnd* task_end) {
  std::lock_guard lock(mu_);
  const std::string& published = functions_.record(label, kind, outcome);
  AgentFacts& f = facts(pid, start_time + outcome.duration_seconds);
  f.recent_calls.push(CallSpan{published, kind, start_time, outcome.duration_seconds, outcome.gross_bytes,
                               outcome.net_self_bytes, rss_after, outcome.error, outcome.approximate});
  if (task_end != nullptr) {
    f.task_ends.push(*task_end);
    ++f.tasks_ended;
    if (f.current_task == task_end->task) f.current_task.clear();
  }
}

void AgentRegistry::heartbeat(pid_t pid, std::uint64_t dropped_in_agent_total, double now) {
  std::lock_guard lock(mu_);
  AgentFacts& f = facts(pid, now);
  // The report is cumulative per process: count only what is new since its last one.
  if (dropped_in_agent_total > f.dropped_in_agent) {
    counters_.dropped_in_agent += dropped_in_agent_total - f.dropped_in_agent;
    f.dropped_in_agent = dropped_in_agent_total;
  }
}

void AgentRegistry::accepted(std::string_view type) {
  std::lock_guard lock(mu_);
  ++counters_.accepted_by_type[std::string(type)];
}

void AgentRegistry::rejected(std::string_view reason) {
  std::lock_guard lock(mu_);
  ++counters_.rejected_by_reason[std::string(reason)];
}

void AgentRegistry::sequence_gap(pid_t pid, std::uint64_t missing) {
  std::lock_guard lock(mu_);
  counters_.sequence_gaps += missing;
  auto it = processes_.find(pid);
  if (it != processes_.end()) it->second.sequence_gaps += missing;
}

void AgentRegistry::refused() {
  std::lock_guard lock(mu_);
  ++counters_.refused_peers;
}

void AgentRegistry::forget(pid_t pid) {
  std::lock_guard lock(mu_);
  processes_.erase(pid);
}

AgentView AgentRegistry::view() const {
  std::lock_guard lock(mu_);
  return AgentView{processes_, functions_.rows(), counters_};
}

}  // namespace ramflow::model
