// The configuration of ramflowd: one struct, filled from defaults, then a YAML
// file, then RAMFLOW_* environment variables, then command-line flags (later
// sources win). Every value is validated where it is read; a bad value is a
// ConfigError naming the option, the value, its source and what is allowed.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <sys/types.h>
#include <vector>

#include "thresholds/thresholds.h"

namespace ramflow::config {

enum class LogFormat { kText, kJson };
enum class EbpfMode { kAuto, kOn, kOff };

struct Config {
  // serving
  std::string listen = "0.0.0.0:9977";
  std::string socket;  // empty: the default path (see ingest/default_socket_path.h)
  std::vector<uid_t> allowed_uids;  // besides ramflowd's own uid
  // sampling
  std::chrono::milliseconds interval{1000};
  std::string process_match = "python|celery|gunicorn|uwsgi";
  std::size_t max_processes = 64;
  std::chrono::milliseconds smaps_interval{30000};
  std::uint64_t smaps_max_rss = 2ull << 30;  // bytes; larger heaps skip smaps_rollup
  std::string proc_root = "/proc";
  std::string cgroup_root = "/sys/fs/cgroup";
  std::string cgroup_path;  // explicit worker cgroup, relative to the root
  // Not an option: `ramflowd run` decides whose figures its cgroup gives.
  // kCgroup: it made cgroup_path for the command alone; kProcesses: it could
  // not, so the figures are the command's processes summed; kAuto: serve's rule.
  enum class Scope { kAuto, kCgroup, kProcesses } scope = Scope::kAuto;
  std::optional<std::uint64_t> memory_limit;    // Downward API, informational
  std::optional<std::uint64_t> memory_request;  // Downward API, informational
  EbpfMode ebpf = EbpfMode::kAuto;
  std::string state_dir;
  // analysis
  std::size_t top_functions = 50;
  double leak_medium_mib = thresholds::kLeakMediumMiB;
  double leak_high_mib = thresholds::kLeakHighMiB;
  double headroom = thresholds::kHeadroom;
  std::chrono::seconds restart_horizon{24 * 3600};
  std::chrono::milliseconds bucket{60000};
  double greedy_mib_per_second = thresholds::kGreedyMiBPerSecond;
  double oom_risk_margin = thresholds::kOomRiskNonreclaimableMargin;
  // allocation-site captures (docs/allocation-sites.md)
  bool capture_auto = true;  // when a leak turns high, and before an OOM kill
  std::chrono::seconds capture_every{3600};  // automatic captures: at most one per process per this
  std::size_t capture_tasks = 20;            // a window ends after this many tasks ...
  std::chrono::milliseconds capture_seconds{60000};  // ... or this long, whichever first
  std::size_t capture_frames = 8;            // tracemalloc's traceback depth
  std::chrono::seconds capture_oom_within{300};  // pre-OOM capture: time to OOM under this
  std::string control_socket;  // empty: control.sock beside the agent socket
  // output
  bool show_command_lines = false;  // workers' command lines unredacted in the report
  // logging
  LogFormat log_format = LogFormat::kText;
  std::string log_level = "info";

  // Where each option set away from its default came from: "file", "env" or "flag".
  std::map<std::string, std::string> sources;
};

class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Where a value came from, for error messages.
enum class Source { kFile, kEnv, kFlag };

// Sets option `name` (the flag name without dashes, e.g. "max-processes") from
// text. Throws ConfigError for an unknown name or a bad value.
void set_option(Config& config, std::string_view name, std::string_view value, Source source,
                std::string_view origin = {});

// Loads a YAML mapping of option names (dashes or underscores) to scalars
// (lists for allowed-uids). Throws ConfigError on unreadable files, unknown
// keys and wrong types.
void apply_yaml_file(Config& config, const std::string& path);
void apply_yaml_text(Config& config, const std::string& text, const std::string& origin);

// Applies RAMFLOW_<NAME> variables found in `environ`-style entries.
void apply_environment(Config& config, char** envp);

// `ramflowd --help` text for every option.
std::string options_help();

std::string_view to_string(LogFormat);
std::string_view to_string(EbpfMode);

// Name → textual value of every option, for the report's "configuration in force".
std::vector<std::pair<std::string, std::string>> describe(const Config& config);

}  // namespace ramflow::config
