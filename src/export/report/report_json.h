// The report document behind /api/v1/report, the dashboard and the standalone
// HTML file: one cgroup and one worker group of a Snapshot, in the schema of
// docs/report.md. Pure: everything it says comes from the snapshot and the
// options; the caller reads the environment and the host.
//
//   ReportOptions options = app::report_options(config);  // the thresholds in force
//   options.source = "serve";
//   options.env = report_env(getenv("RAMFLOW_ENV"), getenv("APP_ENV"));
//   options.version = kVersion;
//   options.host = read_host_facts();
//   nlohmann::json report = build_report(*snapshot, options);  // may throw ReportError
#pragma once

#include <cstddef>
#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

#include "analysis/allocation_speed.h"
#include "analysis/integrity.h"
#include "model/snapshot.h"

namespace ramflow::exporter {

// system_context.host: facts of the machine, read once by the caller.
struct HostFacts {
  std::string hostname;
  std::string kernel;  // uname -r
  int cpus = 0;        // online CPUs
};
HostFacts read_host_facts();

// At most this many of the most recent items per timeline.
struct ReportBounds {
  std::size_t points = 300;
  std::size_t tasks = 50;
  std::size_t spans = 200;
};

struct ReportOptions {
  std::string cgroup;          // path under the cgroup root; empty: the cgroup with the lowest safety margin
  std::string source = "serve";  // "serve", "run" or "report"
  std::string env = "local";
  double refresh_seconds = 5;
  std::string version;  // of ramflowd
  // The thresholds in force (app::report_options() copies them from the Config).
  analysis::ResidualThresholds thresholds;
  double greedy_bytes_per_second = analysis::kGreedyBytesPerSecond;
  double headroom = 0.20;
  double restart_horizon_seconds = 24 * 3600.0;
  bool show_command_lines = false;  // else secrets in them are redacted (model/command_line.h)
  ReportBounds bounds;
  HostFacts host;
};

// RAMFLOW_ENV, else APP_ENV, else "local" (pass getenv()'s results; null or empty = unset).
std::string report_env(const char* ramflow_env, const char* app_env);

class ReportError : public std::runtime_error {
 public:
  enum class Kind {
    kUnknownCgroup,  // the ?cgroup= asked for is not watched (HTTP 404)
    kNothingYet,     // no cgroup or no worker process seen yet (HTTP 503)
  };
  ReportError(Kind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
  Kind kind() const { return kind_; }

 private:
  Kind kind_;
};

// Throws ReportError (see Kind) and std::invalid_argument on bad options.
nlohmann::json build_report(const model::Snapshot& snapshot, const ReportOptions& options);

}  // namespace ramflow::exporter
