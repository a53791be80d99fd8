// Everything `ramflowd serve` runs, wired together: the agent socket, the
// sampling thread running daemon::Cycle, the eBPF watcher and the HTTP routes.
// `ramflowd run` embeds the same runtime around a child command.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "config/config.h"
#include "daemon/cycle.h"
#include "export/report/report_json.h"
#include "model/agent_registry.h"

namespace ramflow::app {

class DaemonRuntime {
 public:
  explicit DaemonRuntime(const config::Config& config);
  ~DaemonRuntime();

  // Starts every part; returns an error message for a fatal problem (e.g. the
  // HTTP address in use). A failing agent socket is logged, not fatal.
  std::string start();
  void stop();
  std::string url() const;  // http://HOST:PORT of the dashboard
  std::string socket_path() const;
  daemon::Cycle& cycle();
  // Waits (at most `timeout`) for `cycles` more sampling cycles, so that the
  // exits and OOM kills of processes that just ended are settled.
  void settle(int cycles, std::chrono::milliseconds timeout);
  // The report of the last live snapshot (or the latest one), with the
  // function table as the agents left it.
  nlohmann::json final_report(const std::string& source);

 private:
  void add_routes();
  void start_oom_watcher();
  void sampling_loop();
  exporter::ReportOptions report_options(const std::string& source) const;
  struct Parts;
  std::unique_ptr<Parts> parts_;
};

}  // namespace ramflow::app
