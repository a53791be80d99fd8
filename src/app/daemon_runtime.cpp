#include "app/daemon_runtime.h"

#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <thread>

#include <spdlog/spdlog.h>

#include "app/control_socket.h"
#include "app/report_options.h"
#include "app/version.h"
#include "bpf/oom_watcher.h"
#include "daemon/agent_sink.h"
#include "export/http/http_server.h"
#include "export/prometheus/metrics.h"
#include "export/report/badge.h"
#include "export/report/report_json.h"
#include "export/ui/ui_assets.h"
#include "ingest/default_socket_path.h"
#include "ingest/socket_server.h"

namespace ramflow::app {
namespace {

exporter::HttpLimits http_limits() {
  exporter::HttpLimits limits;
  limits.warn = [](std::string_view line) { spdlog::warn("{}", line); };
  return limits;
}

}  // namespace

struct DaemonRuntime::Parts {
  explicit Parts(const config::Config& c)
      : config(c),
        agents(c.max_processes * 4, c.top_functions),
        cycle(c, agents),
        sink(agents),
        socket({c.socket.empty() ? ingest::default_socket_path() : c.socket, 0660, c.allowed_uids,
                c.max_processes * 4},
               sink),
        control(control_socket_path(c), cycle) {
    cycle.captures().set_sender([this](pid_t pid, const std::string& packet) { return socket.send(pid, packet); });
  }

  config::Config config;
  model::AgentRegistry agents;
  daemon::Cycle cycle;
  daemon::AgentSink sink;
  ingest::SocketServer socket;
  app::ControlSocket control;
  std::unique_ptr<bpf::OomWatcher> watcher;
  exporter::HostFacts host = exporter::read_host_facts();
  exporter::HttpServer http{http_limits()};
  bool socket_running = false;
  bool control_running = false;

  std::thread sampling;
  std::mutex wake_mu;
  std::condition_variable wake;
  bool stopping = false;
};

DaemonRuntime::DaemonRuntime(const config::Config& config) : parts_(std::make_unique<Parts>(config)) {}

DaemonRuntime::~DaemonRuntime() { stop(); }

daemon::Cycle& DaemonRuntime::cycle() { return parts_->cycle; }

std::string DaemonRuntime::socket_path() const { return parts_->socket.path(); }

std::string DaemonRuntime::url() const {
  std::string host = parts_->config.listen.substr(0, parts_->config.listen.rfind(':'));
  if (host == "0.0.0.0" || host == "[::]" || host.empty()) host = "127.0.0.1";
  return "http://" + host + ":" + std::to_string(parts_->http.port());
}

void DaemonRuntime::add_routes() {
  Parts& p = *parts_;
  exporter::BuildInfo build{kVersion, bpf::OomWatcher::built_with_bpf()};
  const daemon::Cycle& cycle = p.cycle;

  p.http.route("/metrics", [&cycle, build](const auto&) {
    auto snap = cycle.latest();
    if (!snap) return exporter::Response{503, "text/plain", "no sample taken yet\n"};
    return exporter::Response{200, "text/plain; version=0.0.4; charset=utf-8", exporter::render_metrics(*snap, build)};
  });
  p.http.route("/healthz", [](const auto&) { return exporter::Response{200, "text/plain", "ok\n"}; });
  p.http.route("/readyz", [&cycle](const auto&) {
    return cycle.latest() ? exporter::Response{200, "text/plain", "ready\n"}
                          : exporter::Response{503, "text/plain", "waiting for the first sample\n"};
  });
  p.http.route("/api/v1/report", [this, &cycle](const auto& param) {
    auto snap = cycle.latest();
    if (!snap) return exporter::Response{503, "application/json", R"({"error":"no sample taken yet"})"};
    auto options = report_options("serve");
    options.cgroup = param("cgroup");
    try {
      return exporter::Response{200, "application/json", exporter::build_report(*snap, options).dump()};
    } catch (const exporter::ReportError& e) {
      int status = e.kind() == exporter::ReportError::Kind::kUnknownCgroup ? 404 : 503;
      return exporter::Response{status, "application/json", nlohmann::json{{"error", e.what()}}.dump()};
    } catch (const std::invalid_argument& e) {
      return exporter::Response{400, "application/json", nlohmann::json{{"error", e.what()}}.dump()};
    }
  });
  p.http.route("/badge.svg", [this, &cycle](const auto&) {
    auto snap = cycle.latest();
    std::string svg = exporter::integrity_badge_svg("unknown");
    if (snap) {
      try {
        svg = exporter::report_badge_svg(exporter::build_report(*snap, report_options("serve")));
      } catch (const std::exception&) {
        // nothing watched yet: the badge says unknown
      }
    }
    return exporter::Response{200, "image/svg+xml", svg};
  });
  for (std::string_view name : {"index.html", "app.js", "style.css"}) {
    const exporter::UiAsset* asset = exporter::find_ui_asset(name);
    if (!asset) continue;
    std::string path = name == "index.html" ? "/" : "/" + std::string(name);
    p.http.route(path, [asset](const auto&) {
      return exporter::Response{200, std::string(asset->content_type), std::string(asset->bytes)};
    });
  }
}

std::string DaemonRuntime::start() {
  Parts& p = *parts_;
  add_routes();
  if (std::string err = p.http.bind(p.config.listen); !err.empty()) return err;
  p.cycle.restore_state();
  start_oom_watcher();
  if (auto err = p.socket.start()) {
    spdlog::error("agent socket disabled: {} — per-task data will be missing until this is fixed", *err);
  } else {
    p.socket_running = true;
    spdlog::info("agent socket listening on {}", p.socket.path());
    if (auto err = p.control.start()) {
      spdlog::error("control socket disabled: {} — ramflowd capture will not reach this sidecar", *err);
    } else {
      p.control_running = true;
      spdlog::info("control socket (ramflowd capture) listening on {}", control_socket_path(p.config));
    }
  }
  p.stopping = false;
  p.sampling = std::thread([this] { sampling_loop(); });
  p.http.start();
  spdlog::info("ramflowd {} serving {} (metrics at /metrics, dashboard at /)", kVersion, url());
  return {};
}

// One cycle every --interval; a cycle that overran starts the next at once, without bursts.
void DaemonRuntime::sampling_loop() {
  Parts& p = *parts_;
  using Clock = std::chrono::steady_clock;
  auto next = Clock::now();
  while (true) {
    try {
      p.cycle.run_once();
    } catch (const std::exception& e) {
      spdlog::error("sampling cycle failed: {} (the next cycle retries)", e.what());
    }
    next += p.config.interval;
    if (next < Clock::now()) next = Clock::now() + p.config.interval;
    std::unique_lock lock(p.wake_mu);
    if (p.wake.wait_until(lock, next, [&p] { return p.stopping; })) return;
  }
}

exporter::ReportOptions DaemonRuntime::report_options(const std::string& source) const {
  exporter::ReportOptions o = app::report_options(parts_->config);
  o.source = source;
  o.env = exporter::report_env(std::getenv("RAMFLOW_ENV"), std::getenv("APP_ENV"));
  o.version = kVersion;
  o.host = parts_->host;
  return o;
}

void DaemonRuntime::settle(int cycles, std::chrono::milliseconds timeout) {
  auto cycle_now = [this] {
    auto snap = parts_->cycle.latest();
    return snap ? snap->cycle : 0;
  };
  const std::uint64_t until = cycle_now() + static_cast<std::uint64_t>(cycles);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (cycle_now() < until && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

// The last snapshot in which the command's processes lived, plus what was
// learned since: processes that ended after it, kills, and calls that ended
// after the last sample.
nlohmann::json DaemonRuntime::final_report(const std::string& source) {
  model::SnapshotPtr live = parts_->cycle.last_live();
  model::SnapshotPtr latest = parts_->cycle.latest();
  model::Snapshot final = live ? *live : model::Snapshot{};
  if (latest && latest != live) {
    for (auto& c : final.cgroups) {
      for (const auto& after : latest->cgroups) {
        if (after.facts.path != c.facts.path) continue;
        // What only grows with what was learned since: the ended processes,
        // the footprint, and the limit an OOM victim may have raised.
        auto& a = c.analysis;
        const auto& b = after.analysis;
        a.exited = b.exited;
        a.footprint = b.footprint;
        a.footprint_verdict = b.footprint_verdict;
        a.recommended_limit = b.recommended_limit;
        a.recommended_request = b.recommended_request;
        a.celery = b.celery;
      }
      // A process that ended since is shown as ended, with its last verdicts.
      for (const auto& e : c.analysis.exited) {
        std::erase_if(final.processes, [&e](const model::ProcessView& p) {
          return p.facts.pid == e.pid && p.facts.start_ticks == e.start_ticks;
        });
      }
    }
    final.oom_kills = latest->oom_kills;
    final.oom_counts = latest->oom_counts;
    final.captures = latest->captures;
  }
  auto agents = parts_->agents.view();
  final.functions = std::move(agents.functions);
  final.agent_counters = std::move(agents.counters);
  return exporter::build_report(final, report_options(source));
}

void DaemonRuntime::start_oom_watcher() {
  Parts& p = *parts_;
  if (p.config.ebpf == config::EbpfMode::kOff) {
    p.cycle.set_ebpf_status(false, "disabled by --ebpf off");
    return;
  }
  bpf::Options options;
  options.is_watched_pid = [&p](pid_t pid) { return p.cycle.is_watched(pid); };
  options.on_event = [&p](const bpf::OomEvent& e) { p.cycle.on_oom_event(e); };
  options.on_debug_log = [](std::string_view line) { spdlog::debug("libbpf: {}", line); };
  std::string why_not;
  p.watcher = bpf::OomWatcher::start(options, &why_not);
  if (p.watcher) {
    p.cycle.set_ebpf_status(true, "running");
    spdlog::info("eBPF OOM watcher running");
    return;
  }
  p.cycle.set_ebpf_status(false, why_not);
  if (p.config.ebpf == config::EbpfMode::kOn) {
    spdlog::error("eBPF OOM watcher unavailable: {} — OOM kills are inferred from cgroup counters", why_not);
  } else {
    spdlog::info("eBPF OOM watcher unavailable: {} — OOM kills are inferred from cgroup counters", why_not);
  }
}

void DaemonRuntime::stop() {
  if (!parts_) return;
  Parts& p = *parts_;
  if (p.watcher) p.watcher->stop();
  p.http.stop();
  if (p.control_running) p.control.stop();
  p.control_running = false;
  if (p.socket_running) p.socket.stop();
  p.socket_running = false;
  {
    std::lock_guard lock(p.wake_mu);
    p.stopping = true;
  }
  p.wake.notify_all();
  if (p.sampling.joinable()) p.sampling.join();
  // The sampling thread is gone: the last cycle's state is saved here, on the caller's.
  p.cycle.flush_state();
}

}  // namespace ramflow::app
