#include "app/daemon_runtime.h"

#include <unistd.h>

#include <spdlog/spdlog.h>

#include "app/version.h"
#include "daemon/agent_sink.h"
#include "export/http_server.h"
#include "export/metrics.h"
#include "ingest/default_socket_path.h"
#include "ingest/socket_server.h"

namespace ramflow::app {

struct DaemonRuntime::Parts {
  explicit Parts(const config::Config& c)
      : config(c),
        agents(c.max_processes * 4, c.top_functions),
        sampler(c, agents),
        sink(agents),
        socket({c.socket.empty() ? ingest::default_socket_path() : c.socket, 0660, c.allowed_uids,
                c.max_processes * 4},
               sink) {}

  config::Config config;
  model::AgentRegistry agents;
  daemon::Sampler sampler;
  daemon::AgentSink sink;
  ingest::SocketServer socket;
  exporter::HttpServer http;
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
  exporter::BuildInfo build{kVersion, false};
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

  if (std::string err = p.http.bind(p.config.listen); !err.empty()) return err;

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

void DaemonRuntime::stop() {
  if (!parts_) return;
  parts_->http.stop();
  if (parts_->socket_running) parts_->socket.stop();
  parts_->socket_running = false;
  parts_->sampler.stop();
}

}  // namespace ramflow::app
