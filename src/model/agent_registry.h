// Thread-safe record of everything agents said: per-process facts, the bounded
// function table and ingest counters. The ingest thread writes; the sampling
// thread takes a copy once per interval. Bounded: per-process rings, the
// function table's K, and at most `max_processes` entries (disconnected ones
// are evicted first, oldest first).
#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "model/agent_facts.h"
#include "model/allocation_capture.h"
#include "model/function_table.h"

namespace ramflow::model {

struct AgentCounters {
  std::map<std::string, std::uint64_t> accepted_by_type;
  std::map<std::string, std::uint64_t> rejected_by_reason;
  std::uint64_t dropped_in_agent = 0;  // sum of the last report of every process seen
  std::uint64_t sequence_gaps = 0;
  std::uint64_t refused_peers = 0;
};

struct AgentView {
  std::map<pid_t, AgentFacts> processes;
  std::vector<FunctionStats> functions;
  AgentCounters counters;
};

// What a process' task board says (protocol 3): the task it runs, empty when idle.
struct RunningTask {
  std::string task;
  double since = 0;  // Unix seconds
};
// Reads a task board; nullopt when it holds nothing valid.
using TaskBoardReader = std::function<std::optional<RunningTask>()>;

class AgentRegistry {
 public:
  AgentRegistry(std::size_t max_processes, std::size_t max_functions);

  void connected(pid_t pid, uid_t uid, double now);
  void disconnected(pid_t pid, double now);
  void hello(pid_t pid, AgentHello hello, double now);
  void bootstrap(pid_t pid, std::uint64_t rss, double time);
  void ready(pid_t pid, std::uint64_t rss, std::optional<std::uint64_t> hwm, double time,
             std::vector<ImportCost> imports);
  void task_started(pid_t pid, const std::string& task, double time);
  // Protocol 3: the board the process passed on `connection` (replacing any
  // before it). view() reads it for the process' running task.
  void task_board(pid_t pid, std::uint64_t connection, TaskBoardReader reader, double now);
  // That connection closed: the board is read one last time (the process may
  // be dead; its board still tells what it was running) and dropped.
  void task_board_closed(pid_t pid, std::uint64_t connection);
  // A finished tracked call (a timeline sample); a top-level task also ends the
  // running task. A protocol-1 record is also `counted` in the function table
  // and the process' net-self table.
  void call(pid_t pid, const std::string& label, CallKind kind, const CallOutcome& outcome,
            double start_time, std::uint64_t rss_after, const TaskEnd* task_end, bool counted);
  // Protocol 2: what each function gained since the agent's last deltas.
  void function_deltas(pid_t pid, const std::vector<FunctionStats>& deltas, double now);
  // Protocol 2: the process' figures since ready (or since the agent started
  // when nothing marked ready); replaces the previous table.
  void net_self(pid_t pid, std::vector<FunctionStats> rows, bool since_ready, double now);
  void protocol(pid_t pid, std::uint32_t version, double now);
  void heartbeat(pid_t pid, std::uint64_t dropped_in_agent_total, double now);
  void accepted(std::string_view type);
  void rejected(std::string_view reason, std::uint64_t packets = 1);
  void sequence_gap(pid_t pid, std::uint64_t missing);
  void refused();
  // What an agent said of an allocation-site capture (its window opened, its
  // result), waiting for the daemon's capture book; at most kCaptureReportsKept.
  void capture_report(AllocationCapture report);
  std::vector<AllocationCapture> take_capture_reports();
  static constexpr std::size_t kCaptureReportsKept = 256;
  // The process is dead (not merely no longer watched) and its OOM
  // attribution done: drop its facts.
  void forget(pid_t pid);

  // A copy of everything; the running task of each process with a board is
  // read from it first (outside the lock).
  AgentView view();

 private:
  struct Board {
    std::uint64_t connection = 0;
    TaskBoardReader read;
  };
  AgentFacts& facts(pid_t pid, double now);  // requires mu_

  mutable std::mutex mu_;
  std::size_t max_processes_;
  std::map<pid_t, AgentFacts> processes_;
  std::map<pid_t, Board> boards_;  // only of processes_ entries
  FunctionTable functions_;
  AgentCounters counters_;
  std::vector<AllocationCapture> capture_reports_;
};

}  // namespace ramflow::model
