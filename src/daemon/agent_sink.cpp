#include "daemon/agent_sink.h"

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

constexpr const char* kOverCapacity = "over_capacity";

}  // namespace

void add_known_labels(model::AgentCounters& counters) {
  for (const char* type : {"hello", "phase", "task_start", "call", "heartbeat"}) counters.accepted_by_type.try_emplace(type, 0);
  for (ingest::RejectReason r : ingest::kAllRejectReasons) {
    counters.rejected_by_reason.try_emplace(std::string(ingest::to_string(r)), 0);
  }
  counters.rejected_by_reason.try_emplace(kOverCapacity, 0);
}

void AgentSink::on_connect(const ingest::Peer& peer) { registry_.connected(peer.pid, peer.uid, unix_now()); }

void AgentSink::on_disconnect(const ingest::Peer& peer) { registry_.disconnected(peer.pid, unix_now()); }

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

void AgentSink::on_over_capacity(uid_t uid, pid_t pid) {
  spdlog::warn("refused agent connection from pid {} uid {}: too many connections", pid, uid);
  registry_.rejected(kOverCapacity);
}

void AgentSink::on_message(const ingest::Peer& peer, const ingest::Envelope& envelope) {
  pid_t pid = peer.pid;
  std::visit(
      Overloaded{
          [&](const ingest::Hello& h) {
            registry_.accepted("hello");
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
            model::CallKind kind = c.kind == ingest::CallKind::task ? model::CallKind::kTask : model::CallKind::kFunction;
            model::CallOutcome outcome{c.gross_bytes, c.net_self_bytes, c.duration_seconds, c.exception, c.approximate};
            if (kind != model::CallKind::kTask) {
              registry_.call(pid, c.label, kind, outcome, c.wall_start, c.rss_after, nullptr);
              return;
            }
            model::TaskEnd end{c.label,          c.wall_start + c.duration_seconds, c.duration_seconds, c.rss_after,
                               c.allocated_blocks_delta, c.rss_anon_delta, c.net_self_bytes, c.peak_rss,
                               c.approximate};
            registry_.call(pid, c.label, kind, outcome, c.wall_start, c.rss_after, &end);
          },
          [&](const ingest::Heartbeat& h) {
            registry_.accepted("heartbeat");
            registry_.heartbeat(pid, h.dropped_total, unix_now());
          },
      },
      envelope.message);
}

}  // namespace ramflow::daemon
