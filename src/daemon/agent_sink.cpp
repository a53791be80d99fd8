#include "daemon/agent_sink.h"

#include <atomic>
#include <chrono>

#include <spdlog/spdlog.h>

namespace ramflow::daemon {
namespace {

double unix_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

template <class... Ts>
struct Overloaded : Ts... {
  using Ts::operator()...;
};
template <class... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;

model::CallKind kind_of(ingest::CallKind kind) {
  return kind == ingest::CallKind::task ? model::CallKind::kTask : model::CallKind::kFunction;
}

std::vector<model::FunctionStats> stats_of(const std::vector<ingest::FunctionFigures>& rows) {
  std::vector<model::FunctionStats> out;
  out.reserve(rows.size());
  for (const auto& r : rows) {
    model::FunctionStats f;
    f.function = r.label;
    f.kind = kind_of(r.kind);
    f.calls = r.calls;
    f.measured_calls = r.measured_calls;
    f.errors = r.errors;
    f.net_self_bytes = static_cast<double>(r.kept_bytes);
    f.released_bytes = static_cast<double>(r.released_bytes);
    f.gross_bytes = static_cast<double>(r.gross_bytes);
    f.freed_bytes = static_cast<double>(r.freed_bytes);
    f.duration_seconds = r.seconds;
    f.peak_bytes = static_cast<double>(r.peak_bytes);
    f.approximate = r.approximate;
    out.push_back(std::move(f));
  }
  return out;
}

// Logs a refusal at most once per interval: a hostile client must not flood the log.
bool log_now(std::atomic<double>& last, double now) {
  double previous = last.load();
  return now - previous >= 10 && last.compare_exchange_strong(previous, now);
}

constexpr const char* kOverCapacity = "over_capacity";

model::CaptureStatus status_of(ingest::CaptureStatus s) {
  switch (s) {
    case ingest::CaptureStatus::running: return model::CaptureStatus::running;
    case ingest::CaptureStatus::done: return model::CaptureStatus::done;
    case ingest::CaptureStatus::refused: return model::CaptureStatus::refused;
    case ingest::CaptureStatus::failed: return model::CaptureStatus::failed;
  }
  return model::CaptureStatus::failed;
}

model::AllocationCapture capture_of(pid_t pid, const ingest::AllocationSites& a) {
  model::AllocationCapture c;
  c.id = a.id;
  c.pid = pid;
  c.reason = analysis::capture_reason_from_string(a.why).value_or(analysis::CaptureReason::on_demand);
  c.status = status_of(a.status);
  c.error = a.error;
  c.tasks_wanted = a.tasks_wanted;
  c.seconds_wanted = a.seconds_wanted;
  c.frames = a.frames;
  c.tracing = a.tracing;
  c.started = a.started;
  c.ended = a.ended.value_or(0);
  c.ended_by = a.ended_by;
  c.tasks = a.tasks;
  c.rss_growth = a.rss_growth;
  c.anon_growth = a.anon_growth;
  c.traced_growth = a.traced_growth;
  c.tracemalloc_growth = a.tracemalloc_growth;
  for (const auto& s : a.sites) {
    model::CaptureSite site{s.bytes, s.blocks, s.code, {}, s.site};
    for (const auto& f : s.frames) site.frames.push_back({f.file, f.line, f.function});
    c.sites.push_back(std::move(site));
  }
  return c;
}

}  // namespace

void add_known_labels(model::AgentCounters& counters) {
  for (const char* type : {"hello", "phase", "task_start", "call", "heartbeat"}) counters.accepted_by_type.try_emplace(type, 0);
  for (ingest::RejectReason r : ingest::kAllRejectReasons) {
    counters.rejected_by_reason.try_emplace(std::string(ingest::to_string(r)), 0);
  }
  counters.rejected_by_reason.try_emplace(kOverCapacity, 0);
}

void AgentSink::on_connect(const ingest::Peer& peer) { registry_.connected(peer.pid, peer.uid, unix_now()); }

void AgentSink::on_disconnect(const ingest::Peer& peer) {
  registry_.task_board_closed(peer.pid, peer.connection_id);
  registry_.disconnected(peer.pid, unix_now());
}

void AgentSink::on_task_board(const ingest::Peer& peer, std::shared_ptr<const ingest::TaskBoard> board,
                              const std::string& problem) {
  if (!board) {
    if (log_now(last_board_log_, unix_now())) {
      spdlog::warn("agent pid {} passed a task board ramflowd cannot use: {}; an OOM kill of that process will not "
                   "name its task (is its agent a ramflow agent of the same release?)",
                   peer.pid, problem);
    }
    return;
  }
  registry_.task_board(
      peer.pid, peer.connection_id,
      [board]() -> std::optional<model::RunningTask> {
        auto state = board->read();
        if (!state) return std::nullopt;
        return model::RunningTask{state->running ? state->task : std::string(), state->since};
      },
      unix_now());
}

void AgentSink::on_rejected(const ingest::Peer& /*peer*/, ingest::RejectReason reason) {
  registry_.rejected(ingest::to_string(reason));
}

void AgentSink::on_sequence_gap(const ingest::Peer& peer, std::uint64_t missing) {
  registry_.sequence_gap(peer.pid, missing);
}

void AgentSink::on_refused(uid_t uid, pid_t pid) {
  spdlog::warn("refused agent connection from pid {} uid {}: uid not allowed (add it with --allowed-uids)", pid, uid);
  registry_.refused();
}

void AgentSink::on_over_capacity(uid_t uid, pid_t pid, std::uint64_t packets) {
  if (log_now(last_capacity_log_, unix_now())) {
    spdlog::warn("refused agent connection from pid {} uid {}: too many connections ({} packets it sent counted as "
                 "rejected, reason over_capacity); raise --max-processes if this is not an attack",
                 pid, uid, packets);
  }
  if (packets > 0) registry_.rejected(kOverCapacity, packets);
}

void AgentSink::on_message(const ingest::Peer& peer, const ingest::Envelope& envelope) {
  pid_t pid = peer.pid;
  std::visit(
      Overloaded{
          [&](const ingest::Hello& h) {
            registry_.accepted("hello");
            registry_.protocol(pid, envelope.version, unix_now());
            registry_.hello(pid, {h.agent_version, h.python_version, h.framework, h.pool, h.worker}, unix_now());
          },
          [&](const ingest::Phase& p) {
            registry_.accepted("phase");
            if (p.kind == ingest::PhaseKind::bootstrap) {
              registry_.bootstrap(pid, p.rss, p.wall_time);
              return;
            }
            std::vector<model::ImportCost> imports;
            for (const auto& i : p.imports) {
              imports.push_back({i.module, static_cast<std::uint64_t>(std::max<std::int64_t>(0, i.bytes))});
            }
            registry_.ready(pid, p.rss, p.vm_hwm ? std::optional<std::uint64_t>(p.vm_hwm) : std::nullopt, p.wall_time,
                            std::move(imports));
          },
          [&](const ingest::TaskStart& t) {
            registry_.accepted("task_start");
            registry_.task_started(pid, t.name, t.wall_time);
          },
          [&](const ingest::CallRecord& c) {
            registry_.accepted("call");
            model::CallKind kind = kind_of(c.kind);
            model::CallOutcome outcome{c.gross_bytes, c.net_self_bytes, c.duration_seconds, c.exception, c.approximate};
            const bool counted = envelope.version == 1;  // from version 2 the agent counts (FunctionDeltas)
            if (kind != model::CallKind::kTask) {
              registry_.call(pid, c.label, kind, outcome, c.wall_start, c.rss_after, nullptr, counted);
              return;
            }
            model::TaskEnd end{c.label,          c.wall_start + c.duration_seconds, c.duration_seconds, c.rss_after,
                               c.allocated_blocks_delta, c.rss_anon_delta, c.net_self_bytes, c.peak_rss,
                               c.approximate};
            registry_.call(pid, c.label, kind, outcome, c.wall_start, c.rss_after, &end, counted);
          },
          [&](const ingest::FunctionDeltas& d) {
            registry_.accepted("functions");
            registry_.function_deltas(pid, stats_of(d.rows), unix_now());
          },
          [&](const ingest::NetSelfTable& t) {
            registry_.accepted("net_self");
            registry_.net_self(pid, stats_of(t.rows), t.since_ready, unix_now());
          },
          [&](const ingest::AllocationSites& a) {
            registry_.accepted("allocation_sites");
            registry_.capture_report(capture_of(pid, a));
          },
          [&](const ingest::Heartbeat& h) {
            registry_.accepted("heartbeat");
            registry_.heartbeat(pid, h.dropped_total, unix_now());
          },
      },
      envelope.message);
}

}  // namespace ramflow::daemon
