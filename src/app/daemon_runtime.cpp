#include "app/daemon_runtime.h"

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <mutex>
#include <set>

#include <spdlog/spdlog.h>

#include "app/version.h"
#include "bpf/oom_watcher.h"
#include "daemon/agent_sink.h"
#include "daemon/analyzer.h"
#include "daemon/oom_forensics.h"
#include "daemon/restore_budget.h"
#include "daemon/state_store.h"
#include "export/report/badge.h"
#include "export/http/http_server.h"
#include "export/report/report_json.h"
#include "export/ui/ui_assets.h"
#include "export/prometheus/metrics.h"
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
        sampler(c, agents),
        sink(agents),
        analyzer(c),
        socket({c.socket.empty() ? ingest::default_socket_path() : c.socket, 0660, c.allowed_uids,
                c.max_processes * 4},
               sink) {}

  config::Config config;
  model::AgentRegistry agents;
  daemon::Sampler sampler;
  daemon::AgentSink sink;
  daemon::Analyzer analyzer;
  daemon::OomForensics oom;
  daemon::StateStore state{config.state_dir, daemon::state_restore_budget("/proc", "/sys/fs/cgroup")};
  ingest::SocketServer socket;
  std::unique_ptr<bpf::OomWatcher> watcher;
  std::mutex watched_mu;
  std::map<pid_t, std::string> watched;  // pid → cgroup label, for eBPF events
  exporter::HostFacts host = exporter::read_host_facts();
  bool keep_live = false;
  std::mutex live_mu;
  model::SnapshotPtr last_live;
  exporter::HttpServer http{http_limits()};
  bool socket_running = false;
};

DaemonRuntime::DaemonRuntime(const config::Config& config) : parts_(std::make_unique<Parts>(config)) {}

DaemonRuntime::~DaemonRuntime() { stop(); }

daemon::Sampler& DaemonRuntime::sampler() { return parts_->sampler; }

std::string DaemonRuntime::socket_path() const { return parts_->socket.path(); }

std::string DaemonRuntime::url() const {
  std::string host = parts_->config.listen.substr(0, parts_->config.listen.rfind(':'));
  if (host == "0.0.0.0" || host == "[::]" || host.empty()) host = "127.0.0.1";
  return "http://" + host + ":" + std::to_string(parts_->http.port());
}

std::string DaemonRuntime::start() {
  Parts& p = *parts_;
  exporter::BuildInfo build{kVersion, bpf::OomWatcher::built_with_bpf()};
  auto& sampler = p.sampler;

  p.http.route("/metrics", [&sampler, build](const auto&) {
    auto snap = sampler.latest();
    if (!snap) return exporter::Response{503, "text/plain", "no sample taken yet\n"};
    return exporter::Response{200, "text/plain; version=0.0.4; charset=utf-8", exporter::render_metrics(*snap, build)};
  });
  p.http.route("/healthz", [](const auto&) { return exporter::Response{200, "text/plain", "ok\n"}; });
  p.http.route("/readyz", [&sampler](const auto&) {
    return sampler.ready() ? exporter::Response{200, "text/plain", "ready\n"}
                           : exporter::Response{503, "text/plain", "waiting for the first sample\n"};
  });

  p.http.route("/api/v1/report", [this](const auto& param) {
    auto snap = parts_->sampler.latest();
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
  p.http.route("/badge.svg", [this](const auto&) {
    auto snap = parts_->sampler.latest();
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

  if (std::string err = p.http.bind(p.config.listen); !err.empty()) return err;
  restore_state();
  start_oom_watcher();
  sampler.set_enricher([&p](model::Snapshot& snap, const std::vector<model::ProcessFacts>& vanished,
                            const model::AgentView& agents) {
    p.analyzer.analyze(snap, p.oom.largest_victim_bytes());
    p.oom.update(snap, vanished, agents);
    if (p.state.enabled()) {
      p.state.save_if_changed(p.analyzer.generation(), [&p] { return p.analyzer.save_state(); }, p.oom.save_state(),
                              snap.time);
      snap.state_file = p.state.status();
    }
    snap.configuration = config::describe(p.config);
    snap.configuration_sources = p.config.sources;
    {
      std::lock_guard lock(p.watched_mu);
      p.watched.clear();
      for (const auto& proc : snap.processes) p.watched[proc.facts.pid] = proc.facts.cgroup;
    }
    if (p.keep_live && !snap.processes.empty()) {
      auto copy = std::make_shared<model::Snapshot>(snap);
      std::lock_guard lock(p.live_mu);
      p.last_live = std::move(copy);
    }
  });

  if (auto err = p.socket.start()) {
    spdlog::error("agent socket disabled: {} — per-task data will be missing until this is fixed", *err);
  } else {
    p.socket_running = true;
    spdlog::info("agent socket listening on {}", p.socket.path());
  }
  sampler.start();
  p.http.start();
  spdlog::info("ramflowd {} serving {} (metrics at /metrics, dashboard at /)", kVersion, url());
  return {};
}

exporter::ReportOptions DaemonRuntime::report_options(const std::string& source) const {
  exporter::ReportOptions o = exporter::report_options(parts_->config);
  o.source = source;
  o.env = exporter::report_env(std::getenv("RAMFLOW_ENV"), std::getenv("APP_ENV"));
  o.version = kVersion;
  o.host = parts_->host;
  return o;
}

void DaemonRuntime::keep_last_live_snapshot() { parts_->keep_live = true; }

nlohmann::json DaemonRuntime::final_report(const std::string& source) {
  model::SnapshotPtr snap;
  {
    std::lock_guard lock(parts_->live_mu);
    snap = parts_->last_live;
  }
  if (!snap) snap = parts_->sampler.latest();
  if (!snap) snap = std::make_shared<model::Snapshot>();
  model::Snapshot final = *snap;
  auto agents = parts_->agents.view();  // calls that ended after the last sample
  final.functions = std::move(agents.functions);
  final.agent_counters = std::move(agents.counters);
  return exporter::build_report(final, report_options(source));
}

void DaemonRuntime::restore_state() {
  Parts& p = *parts_;
  p.state.restore([&p](const analysis::AnalysisState& analysis, std::string_view oom_json) {
    std::string error;
    if (model::OomTracker check; !check.restore(oom_json, &error)) throw std::invalid_argument(error);
    // Both parts or neither: the OOM part is checked above, the analyzer's restore is all or nothing.
    p.analyzer.restore(analysis, std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count());
    p.oom.restore(oom_json, &error);
  });
}

void DaemonRuntime::start_oom_watcher() {
  Parts& p = *parts_;
  if (p.config.ebpf == config::EbpfMode::kOff) {
    p.sampler.set_ebpf_status(false, "disabled by --ebpf off");
    return;
  }
  bpf::Options options;
  options.is_watched_pid = [&p](pid_t pid) {
    std::lock_guard lock(p.watched_mu);
    return p.watched.count(pid) > 0;
  };
  options.on_event = [&p](const bpf::OomEvent& e) {
    model::OomKillEvent kill;
    kill.time = e.time;
    kill.pid = e.pid;
    kill.start_time = e.start_time_ns / (1'000'000'000ull / static_cast<std::uint64_t>(sysconf(_SC_CLK_TCK)));
    kill.comm = e.comm;
    kill.rss_bytes = e.rss_bytes();
    {
      std::lock_guard lock(p.watched_mu);
      auto it = p.watched.find(e.pid);
      if (it != p.watched.end()) kill.cgroup = it->second;
    }
    p.oom.add_kill(std::move(kill));
  };
  options.on_debug_log = [](std::string_view line) { spdlog::debug("libbpf: {}", line); };
  std::string why_not;
  p.watcher = bpf::OomWatcher::start(options, &why_not);
  if (p.watcher) {
    p.sampler.set_ebpf_status(true, "running");
    spdlog::info("eBPF OOM watcher running");
    return;
  }
  p.sampler.set_ebpf_status(false, why_not);
  if (p.config.ebpf == config::EbpfMode::kOn) {
    spdlog::error("eBPF OOM watcher unavailable: {} — OOM kills are inferred from cgroup counters", why_not);
  } else {
    spdlog::info("eBPF OOM watcher unavailable: {} — OOM kills are inferred from cgroup counters", why_not);
  }
}

void DaemonRuntime::stop() {
  if (!parts_) return;
  if (parts_->watcher) parts_->watcher->stop();
  parts_->http.stop();
  if (parts_->socket_running) parts_->socket.stop();
  parts_->socket_running = false;
  parts_->sampler.stop();
  // The sampler thread is gone: the last cycle's state is saved here, on the caller's.
  auto snap = parts_->sampler.latest();
  if (parts_->state.enabled() && snap) {
    parts_->state.save_if_changed(parts_->analyzer.generation(), [this] { return parts_->analyzer.save_state(); },
                                  parts_->oom.save_state(), snap->time, /*force=*/true);
  }
}

}  // namespace ramflow::app
