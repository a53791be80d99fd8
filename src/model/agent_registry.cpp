#include "model/agent_registry.h"

#include <algorithm>

#include "model/saturating.h"

namespace ramflow::model {
namespace {

// Adds one protocol-1 call to the process' table: kNetSelfRows functions, then "other" per kind.
void add_to_table(std::vector<FunctionStats>& table, const FunctionStats& call) {
  auto same = [&](const std::string& name) {
    return [&](const FunctionStats& r) { return r.kind == call.kind && r.function == name; };
  };
  auto it = std::find_if(table.begin(), table.end(), same(call.function));
  if (it == table.end()) {
    auto named = std::count_if(table.begin(), table.end(),
                               [](const FunctionStats& r) { return r.function != FunctionTable::kOther; });
    const std::string name = static_cast<std::size_t>(named) < kNetSelfRows ? call.function : FunctionTable::kOther;
    it = std::find_if(table.begin(), table.end(), same(name));
    if (it == table.end()) {
      FunctionStats fresh;
      fresh.function = name;
      fresh.kind = call.kind;
      it = table.insert(table.end(), std::move(fresh));
    }
  }
  accumulate(*it, call);
}

// A board's reading into the facts. The ends of tasks arrive after the fact:
// a reading taken before the task it shows ended (its end is already here)
// says idle.
void apply(AgentFacts& f, const RunningTask& running) {
  const bool ended = !f.task_ends.empty() && f.task_ends.back().task == running.task &&
                     f.task_ends.back().time >= running.since;
  if (running.task.empty() || ended) {
    f.current_task.clear();
    return;
  }
  f.current_task = running.task;
  f.current_task_since = running.since;
}

}  // namespace

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
    boards_.erase(victim->first);
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
  if (!(f.ready_rss && f.ready_time == time)) {  // not the same ready re-sent on a reconnect
    // "Since ready" starts again; a protocol-2 agent sends its new table next.
    f.net_self.clear();
    f.net_self_known = f.protocol_version == 1;
    f.net_self_since_ready = true;
    f.net_self_time = time;
  }
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
                         double start_time, std::uint64_t rss_after, const TaskEnd* task_end, bool counted) {
  std::lock_guard lock(mu_);
  const double end = start_time + outcome.duration_seconds;
  AgentFacts& f = facts(pid, end);
  std::string published;
  if (counted) {
    FunctionStats one = figures_of(outcome);
    one.function = label;
    one.kind = kind;
    published = functions_.add(one);
    if (f.ready_rss && end >= f.ready_time) {
      add_to_table(f.net_self, one);
      f.net_self_time = end;
    }
  } else {
    published = functions_.admit(label, kind);
  }
  f.recent_calls.push(CallSpan{published, kind, start_time, outcome.duration_seconds, outcome.gross_bytes,
                               outcome.net_self_bytes, rss_after, outcome.error, outcome.approximate});
  if (task_end != nullptr) {
    f.task_ends.push(*task_end);
    add_to(f.tasks_ended, 1);
    // An end that arrives late (sent after a reconnect) must not end a later run of the same task.
    if (f.current_task == task_end->task && task_end->time >= f.current_task_since) f.current_task.clear();
  }
}

void AgentRegistry::function_deltas(pid_t pid, const std::vector<FunctionStats>& deltas, double now) {
  std::lock_guard lock(mu_);
  facts(pid, now);
  for (const FunctionStats& delta : deltas) functions_.add(delta);
}

void AgentRegistry::net_self(pid_t pid, std::vector<FunctionStats> rows, bool since_ready, double now) {
  std::lock_guard lock(mu_);
  AgentFacts& f = facts(pid, now);
  f.net_self_since_ready = since_ready;
  if (rows.size() > kNetSelfRows + 2) rows.resize(kNetSelfRows + 2);
  f.net_self = std::move(rows);
  f.net_self_known = true;
  f.net_self_time = now;
}

void AgentRegistry::protocol(pid_t pid, std::uint32_t version, double now) {
  std::lock_guard lock(mu_);
  facts(pid, now).protocol_version = version;
}

void AgentRegistry::heartbeat(pid_t pid, std::uint64_t dropped_in_agent_total, double now) {
  std::lock_guard lock(mu_);
  AgentFacts& f = facts(pid, now);
  // The report is cumulative per process: count only what is new since its last one.
  if (dropped_in_agent_total > f.dropped_in_agent) {
    add_to(counters_.dropped_in_agent, dropped_in_agent_total - f.dropped_in_agent);
    f.dropped_in_agent = dropped_in_agent_total;
  }
}

void AgentRegistry::accepted(std::string_view type) {
  std::lock_guard lock(mu_);
  add_to(counters_.accepted_by_type[std::string(type)], 1);
}

void AgentRegistry::rejected(std::string_view reason, std::uint64_t packets) {
  std::lock_guard lock(mu_);
  add_to(counters_.rejected_by_reason[std::string(reason)], packets);
}

void AgentRegistry::sequence_gap(pid_t pid, std::uint64_t missing) {
  std::lock_guard lock(mu_);
  add_to(counters_.sequence_gaps, missing);
  auto it = processes_.find(pid);
  if (it != processes_.end()) add_to(it->second.sequence_gaps, missing);
}

void AgentRegistry::refused() {
  std::lock_guard lock(mu_);
  add_to(counters_.refused_peers, 1);
}

void AgentRegistry::forget(pid_t pid) {
  std::lock_guard lock(mu_);
  boards_.erase(pid);
  processes_.erase(pid);
}

void AgentRegistry::task_board(pid_t pid, std::uint64_t connection, TaskBoardReader reader, double now) {
  std::lock_guard lock(mu_);
  facts(pid, now);
  boards_[pid] = Board{connection, std::move(reader)};
}

void AgentRegistry::task_board_closed(pid_t pid, std::uint64_t connection) {
  std::lock_guard lock(mu_);
  auto board = boards_.find(pid);
  if (board == boards_.end() || board->second.connection != connection) return;  // replaced by a newer connection's
  auto process = processes_.find(pid);
  if (auto running = board->second.read(); running && process != processes_.end()) apply(process->second, *running);
  boards_.erase(board);
}

AgentView AgentRegistry::view() {
  std::map<pid_t, Board> boards;
  {
    std::lock_guard lock(mu_);
    boards = boards_;
  }
  std::map<pid_t, std::optional<RunningTask>> readings;
  for (const auto& [pid, board] : boards) readings[pid] = board.read();  // a few preads each: not under the lock
  std::lock_guard lock(mu_);
  for (const auto& [pid, running] : readings) {
    auto board = boards_.find(pid);
    auto process = processes_.find(pid);
    // A board replaced or closed meanwhile was read again by whoever did it.
    if (!running || board == boards_.end() || board->second.connection != boards[pid].connection ||
        process == processes_.end()) {
      continue;
    }
    apply(process->second, *running);
  }
  return AgentView{processes_, functions_.rows(), counters_};
}

void AgentRegistry::capture_report(AllocationCapture report) {
  std::lock_guard lock(mu_);
  if (capture_reports_.size() >= kCaptureReportsKept) capture_reports_.erase(capture_reports_.begin());
  capture_reports_.push_back(std::move(report));
}

std::vector<AllocationCapture> AgentRegistry::take_capture_reports() {
  std::lock_guard lock(mu_);
  std::vector<AllocationCapture> out;
  out.swap(capture_reports_);
  return out;
}

}  // namespace ramflow::model
