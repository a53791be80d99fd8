// Everything `ramflowd serve` runs: the agent socket, the sampler, the HTTP
// endpoint. `ramflowd run` embeds the same runtime around a child command.
#pragma once

#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "config/config.h"
#include "daemon/sampler.h"
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
  daemon::Sampler& sampler();
  // `ramflowd run`: remember the last snapshot in which watched processes were
  // alive, so the final report describes the run rather than its aftermath.
  void keep_last_live_snapshot();
  // The report of the last live snapshot (or the latest one), with the
  // function table as the agents left it.
  nlohmann::json final_report(const std::string& source);

 private:
  void restore_state();
  void start_oom_watcher();
  exporter::ReportOptions report_options(const std::string& source) const;
  struct Parts;
  std::unique_ptr<Parts> parts_;
};

}  // namespace ramflow::app
