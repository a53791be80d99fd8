// What the in-process agent told the sidecar about one worker process.
// Plain data: the ingest adapter fills it, the daemon copies it each interval.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

#include "model/function_table.h"
#include "model/ring_buffer.h"

namespace ramflow::model {

struct ImportCost {
  std::string module;
  std::uint64_t bytes = 0;
};

struct AgentHello {
  std::string agent_version;
  std::string python_version;
  std::string framework;  // "celery", "django", "" ...
  std::string pool;       // "prefork", "solo", "threads", "gevent", "eventlet", ""
  std::string worker;     // stable name, e.g. "celery@host/2"
};

struct CallSpan {
  std::string function;  // as published (admitted name or "other")
  CallKind kind = CallKind::kFunction;
  double start_time = 0;  // unix seconds
  double duration_seconds = 0;
  std::int64_t gross_bytes = 0;
  std::int64_t net_self_bytes = 0;
  std::uint64_t rss_after = 0;
  bool error = false;
  bool approximate = false;
};

// One top-level task end: the residual series point and what held the memory.
struct TaskEnd {
  std::string task;
  double time = 0;
  double duration_seconds = 0;
  std::uint64_t rss_after = 0;
  std::optional<std::int64_t> allocated_blocks_delta;
  std::optional<std::int64_t> rss_anon_delta;
  std::int64_t net_self_bytes = 0;
  std::optional<std::uint64_t> exact_peak;  // VmHWM when the agent resets it per task
  bool approximate = false;
};

struct TaskStart {
  std::string task;
  double time = 0;
};

struct AgentFacts {
  pid_t pid = 0;
  uid_t uid = 0;
  bool connected = false;
  double first_heard = 0;
  double last_heard = 0;
  std::optional<AgentHello> hello;
  std::optional<std::uint64_t> bootstrap_rss;
  double bootstrap_time = 0;
  std::optional<std::uint64_t> ready_rss;
  std::optional<std::uint64_t> ready_hwm;
  double ready_time = 0;
  std::vector<ImportCost> imports;  // heaviest first, at most 20
  std::string current_task;         // empty when idle
  double current_task_since = 0;
  std::uint64_t tasks_ended = 0;
  RingBuffer<TaskEnd> task_ends{256};
  RingBuffer<TaskStart> task_starts{256};
  RingBuffer<CallSpan> recent_calls{200};
  std::uint64_t dropped_in_agent = 0;  // as last reported (cumulative)
  std::uint64_t sequence_gaps = 0;
  std::uint32_t protocol_version = 0;  // of its last message
  // Net self since ready (docs/analysis.md): the agent's last "net_self" table
  // (protocol 2), or summed here from its call records (protocol 1), at most
  // kNetSelfRows functions and one "other" row per kind.
  std::vector<FunctionStats> net_self;
  bool net_self_known = false;
  bool net_self_since_ready = true;  // else since the agent started (nothing marked ready)
  double net_self_time = 0;
};

inline constexpr std::size_t kNetSelfRows = 32;

}  // namespace ramflow::model
