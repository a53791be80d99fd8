// The messages an in-process agent sends, decoded and validated (see docs/protocol.md).
// Plain values: no I/O, no ownership beyond their strings. Sizes are bytes, times seconds.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace ramflow::ingest {

// Versions this sidecar reads: 1 (one record per tracked call), 2 (the agent
// aggregates per function: "functions" and "net_self" messages) and 3 (the
// messages of 2; the running task is on the task board passed with the hello,
// ingest/task_board.h, instead of in task_start messages).
inline constexpr std::uint32_t kOldestProtocolVersion = 1;
inline constexpr std::uint32_t kProtocolVersion = 3;

// Introduces the process; re-sent on every (re)connect. `claimed_pid` is what the
// payload says and is informational only: attribution uses SO_PEERCRED.
struct Hello {
  std::string agent_version;
  std::string python_version;
  std::string framework;  // "celery", "django", "none", ...
  std::string pool;       // "prefork", "solo", "threads", "gevent", "eventlet", "none"
  std::string worker;     // stable worker name, e.g. "celery@host/2"; may be empty
  std::int64_t worker_index = -1;  // -1 when the process is not a pool child
  std::int64_t claimed_pid = 0;
};

enum class PhaseKind : std::uint8_t { bootstrap, ready };

struct ImportCost {
  std::string module;  // top-level package name
  std::int64_t bytes;  // RSS growth while importing it, nested top-level imports excluded
};

// A lifecycle marker with the process' memory at that moment.
struct Phase {
  PhaseKind kind = PhaseKind::bootstrap;
  double wall_time = 0;  // Unix seconds
  std::uint64_t rss = 0;
  std::uint64_t vm_hwm = 0;
  std::uint64_t rss_anon = 0;
  std::uint64_t allocated_blocks = 0;  // sys.getallocatedblocks()
  bool inherited = false;  // measured by the parent before fork (prefork child bootstrap)
  std::vector<ImportCost> imports;  // ready only: the heaviest, at most kMaxImports
};

// Sent at once when a task begins (never batched) so an OOM kill finds its task.
// From version 2 its packet may carry the task ends queued before it ("ended"):
// they decode as CallRecord envelopes before it, one sequence number each.
struct TaskStart {
  std::string name;
  std::string id;  // Celery task id; may be empty
  double wall_time = 0;
  std::uint64_t rss = 0;
};

enum class CallKind : std::uint8_t { task, function };

// One finished tracked call. A record of kind task also ends the task `task_id`.
// Version 1 counts every record; from version 2 a record is a timeline sample
// or a task end, and counting comes from FunctionFigures.
struct CallRecord {
  std::string label;
  CallKind kind = CallKind::function;
  std::string task_id;      // tasks only; may be empty
  double wall_start = 0;    // Unix seconds
  double duration_seconds = 0;
  std::uint64_t rss_before = 0;
  std::uint64_t rss_after = 0;
  std::int64_t gross_bytes = 0;     // rss_after - rss_before, tracked children included
  std::int64_t net_self_bytes = 0;  // gross minus the gross of tracked children (signed)
  bool exception = false;
  bool approximate = false;  // RSS shared with concurrently running tasks
  std::optional<std::int64_t> allocated_blocks_delta;  // tasks only
  std::optional<std::int64_t> rss_anon_delta;          // tasks only
  std::optional<std::uint64_t> peak_rss;  // VmHWM at end after a clear_refs reset at start
};

struct Heartbeat {
  double wall_time = 0;
  std::uint64_t rss = 0;
  std::uint64_t dropped_total = 0;  // records the agent dropped since it started
  std::uint64_t sent_total = 0;     // events the agent put on any connection since it started
};

// What the calls of one function added up to (docs/analysis.md "Net self"):
// a delta since the last "functions" message, or totals since ready in "net_self".
struct FunctionFigures {
  std::string label;
  CallKind kind = CallKind::function;
  std::uint64_t calls = 0;
  std::uint64_t measured_calls = 0;  // <= calls: the others were sampled out (quiet functions)
  std::uint64_t errors = 0;          // <= calls
  double seconds = 0;
  std::uint64_t gross_bytes = 0;     // own rise: kept + freed
  std::uint64_t kept_bytes = 0;      // positive net self (<= gross)
  std::uint64_t freed_bytes = 0;     // own rise given back before returning (<= gross)
  std::uint64_t released_bytes = 0;  // negative net self
  std::uint64_t peak_bytes = 0;      // the largest own rise of one call
  bool approximate = false;
};

// Version 2: what each function gained since the agent's last delivered deltas.
struct FunctionDeltas {
  std::vector<FunctionFigures> rows;
};

// Version 2: the process' figures since ready (since the agent started while
// nothing marked ready), the heaviest functions and one "other" row per kind;
// each replaces the previous one of the process.
struct NetSelfTable {
  bool since_ready = true;
  std::vector<FunctionFigures> rows;
};

// Version 3: an allocation-site capture's state or result (docs/allocation-sites.md).
enum class CaptureStatus : std::uint8_t { running, done, refused, failed };

struct SiteFrame {
  std::string file;      // relative to its sys.path entry where one matches
  std::uint32_t line = 0;
  std::string function;  // qualified name; empty when the source was not readable
};

// A line whose allocations grew during the window, with the tracebacks that
// met there summed (frees included).
struct AllocationSite {
  std::int64_t bytes = 0;   // grown, > 0
  std::int64_t blocks = 0;  // allocations still alive minus those freed (may be negative)
  std::string code;         // the site's source line
  std::vector<SiteFrame> frames;  // the largest contributor's traceback, most recent first
  std::uint32_t site = 0;         // index of the site in frames (the application's first frame)
};

struct AllocationSites {
  std::string id;
  std::string why;
  CaptureStatus status = CaptureStatus::running;
  std::string error;
  std::uint64_t tasks_wanted = 0;
  double seconds_wanted = 0;
  std::uint32_t frames = 0;  // tracemalloc's traceback depth in force
  std::string tracing;       // "agent" (started and stopped by it), "application", or ""
  double started = 0;
  std::optional<double> ended;
  std::string ended_by;      // "tasks", "seconds", "deadline", "exit", or ""
  std::uint64_t tasks = 0;   // tasks ended in the window
  // Done: growth over the window (bytes, signed).
  std::optional<std::int64_t> rss_growth, anon_growth, traced_growth, tracemalloc_growth;
  std::vector<AllocationSite> sites;  // the largest first
};

using Message =
    std::variant<Hello, Phase, TaskStart, CallRecord, Heartbeat, FunctionDeltas, NetSelfTable, AllocationSites>;

// seq numbers events per connection, from 0; a batch of n records uses seq..seq+n-1.
struct Envelope {
  std::uint64_t seq = 0;
  std::uint32_t version = kProtocolVersion;
  Message message;
};

}  // namespace ramflow::ingest
