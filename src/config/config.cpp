#include "config/config.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <fstream>
#include <functional>
#include <regex>
#include <sstream>

#include <yaml-cpp/yaml.h>

#include "config/parse_value.h"

namespace ramflow::config {
namespace {

// One row per option: flag name, value placeholder, help, and how to set and show it.
// `set` returns an empty string on success, else what is allowed.
struct Option {
  std::string_view name;
  std::string_view placeholder;
  std::string_view help;
  std::function<std::string(Config&, std::string_view)> set;
  std::function<std::string(const Config&)> show;
};

using std::chrono::milliseconds;

template <class Rep>
std::string set_duration(Rep& field, std::string_view v, milliseconds min, milliseconds max) {
  auto d = parse_duration(v);
  if (!d || *d < min || *d > max) {
    return "a duration like 500ms, 1s, 2m or 1h between " + format_duration(min) + " and " +
           format_duration(max);
  }
  field = std::chrono::duration_cast<Rep>(*d);
  return {};
}

std::string set_count(std::size_t& field, std::string_view v, std::uint64_t min, std::uint64_t max) {
  auto n = parse_unsigned(v);
  if (!n || *n < min || *n > max) {
    return "a whole number from " + std::to_string(min) + " to " + std::to_string(max);
  }
  field = *n;
  return {};
}

std::string set_real(double& field, std::string_view v, double min, double max, std::string_view what) {
  auto n = parse_number(v);
  if (!n || *n < min || *n > max) {
    std::ostringstream out;
    out << what << " from " << min << " to " << max;
    return out.str();
  }
  field = *n;
  return {};
}

// libstdc++ reads a back-reference (\N) or repeat count ({N,M}) into a long
// without an overflow check: undefined behaviour past 18 digits. 9 is plenty.
bool has_huge_regex_number(std::string_view pattern) {
  std::size_t digits = 0;
  char before = 0;
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    if (std::isdigit(static_cast<unsigned char>(pattern[i]))) {
      if (digits == 0) before = i > 0 ? pattern[i - 1] : 0;
      if (++digits > 9 && (before == '\\' || before == '{' || before == ',')) return true;
    } else {
      digits = 0;
    }
  }
  return false;
}

std::string set_path(std::string& field, std::string_view v) {
  if (v.empty() || v.find('\0') != std::string_view::npos) return "a non-empty path";
  field = std::string(v);
  return {};
}

std::string show_bytes(std::optional<std::uint64_t> v) { return v ? std::to_string(*v) : ""; }

std::string show_number(double v) {
  std::ostringstream out;
  out << v;
  return out.str();
}

const std::vector<Option>& options() {
  static const std::vector<Option> table = {
      {"listen", "HOST:PORT", "address of /metrics, /api/v1/report and the dashboard (default 0.0.0.0:9977; 127.0.0.1:9977 for loopback only)",
       [](Config& c, std::string_view v) -> std::string {
         if (!valid_listen_address(v)) return "HOST:PORT with a port from 0 (any free port) to 65535, e.g. 0.0.0.0:9977";
         c.listen = std::string(v);
         return {};
       },
       [](const Config& c) { return c.listen; }},
      {"socket", "PATH", "Unix socket the Python agents connect to (default /run/ramflow/ramflow.sock where /run/ramflow exists, else /tmp/ramflow-<uid>/ramflow.sock)",
       [](Config& c, std::string_view v) { return set_path(c.socket, v); },
       [](const Config& c) { return c.socket; }},
      {"allowed-uids", "UID[,UID...]", "UIDs besides ramflowd's own whose agents may connect",
       [](Config& c, std::string_view v) -> std::string {
         std::vector<uid_t> uids;
         std::string text(v);
         std::replace(text.begin(), text.end(), ',', ' ');
         std::istringstream in(text);
         std::string item;
         while (in >> item) {
           auto n = parse_unsigned(item);
           if (!n || *n > 4294967294ull) return "a comma-separated list of numeric UIDs, e.g. 1000,1001";
           uids.push_back(static_cast<uid_t>(*n));
         }
         c.allowed_uids = std::move(uids);
         return {};
       },
       [](const Config& c) {
         std::string out;
         for (auto u : c.allowed_uids) out += (out.empty() ? "" : ",") + std::to_string(u);
         return out;
       }},
      {"interval", "DURATION", "sampling interval (default 1s)",
       [](Config& c, std::string_view v) { return set_duration(c.interval, v, milliseconds(100), milliseconds(3'600'000)); },
       [](const Config& c) { return format_duration(c.interval); }},
      {"process-match", "REGEX", "regular expression over comm and cmdline selecting Python workers (default python|celery|gunicorn|uwsgi)",
       [](Config& c, std::string_view v) -> std::string {
         // libstdc++ compiles a regex recursively, a frame per term: a pattern of a few
         // ten thousand characters overflows the stack. Real ones are a few dozen.
         constexpr std::size_t kMaxLength = 1024;
         if (v.empty() || v.size() > kMaxLength) {
           return "a non-empty ECMAScript regular expression of at most " + std::to_string(kMaxLength) +
                  " characters";
         }
         if (has_huge_regex_number(v)) {
           return "an ECMAScript regular expression whose back-references and repeat counts have at most 9 digits";
         }
         try {
           std::regex check{std::string(v)};
         } catch (const std::regex_error& e) {
           return std::string("a valid ECMAScript regular expression (") + e.what() + ")";
         }
         c.process_match = std::string(v);
         return {};
       },
       [](const Config& c) { return c.process_match; }},
      {"max-processes", "N", "most worker processes tracked at once (default 64)",
       [](Config& c, std::string_view v) { return set_count(c.max_processes, v, 1, 4096); },
       [](const Config& c) { return std::to_string(c.max_processes); }},
      {"smaps-interval", "DURATION", "cadence of PSS/USS reads from smaps_rollup (default 30s)",
       [](Config& c, std::string_view v) { return set_duration(c.smaps_interval, v, milliseconds(1000), milliseconds(86'400'000)); },
       [](const Config& c) { return format_duration(c.smaps_interval); }},
      {"smaps-max-rss", "BYTES", "skip smaps_rollup for processes larger than this, since the read stalls them (default 2Gi)",
       [](Config& c, std::string_view v) -> std::string {
         auto b = parse_bytes(v);
         if (!b) return "a size like 2Gi, 512Mi or 1073741824";
         c.smaps_max_rss = *b;
         return {};
       },
       [](const Config& c) { return std::to_string(c.smaps_max_rss); }},
      {"proc-root", "PATH", "procfs mount point (default /proc)",
       [](Config& c, std::string_view v) { return set_path(c.proc_root, v); },
       [](const Config& c) { return c.proc_root; }},
      {"cgroup-root", "PATH", "cgroup mount point (default /sys/fs/cgroup)",
       [](Config& c, std::string_view v) { return set_path(c.cgroup_root, v); },
       [](const Config& c) { return c.cgroup_root; }},
      {"cgroup-path", "PATH", "the worker cgroup relative to the cgroup root, instead of resolving it from /proc/PID/cgroup",
       [](Config& c, std::string_view v) { return set_path(c.cgroup_path, v); },
       [](const Config& c) { return c.cgroup_path; }},
      {"memory-limit-bytes", "BYTES", "the worker container's limit as Kubernetes declares it (Downward API); informational, the cgroup's own limit wins",
       [](Config& c, std::string_view v) -> std::string {
         auto b = parse_bytes(v);
         if (!b) return "a size like 512Mi or a number of bytes";
         c.memory_limit = *b;
         return {};
       },
       [](const Config& c) { return show_bytes(c.memory_limit); }},
      {"memory-request-bytes", "BYTES", "the worker container's request (Downward API); informational",
       [](Config& c, std::string_view v) -> std::string {
         auto b = parse_bytes(v);
         if (!b) return "a size like 256Mi or a number of bytes";
         c.memory_request = *b;
         return {};
       },
       [](const Config& c) { return show_bytes(c.memory_request); }},
      {"ebpf", "auto|on|off", "eBPF OOM watcher: auto uses it when it loads, on logs an error when it cannot (default auto)",
       [](Config& c, std::string_view v) -> std::string {
         if (v == "auto") c.ebpf = EbpfMode::kAuto;
         else if (v == "on") c.ebpf = EbpfMode::kOn;
         else if (v == "off") c.ebpf = EbpfMode::kOff;
         else return "one of auto, on, off";
         return {};
       },
       [](const Config& c) { return std::string(to_string(c.ebpf)); }},
      {"state-dir", "DIR", "directory where learned state is saved across restarts (the pod's emptyDir); empty disables",
       [](Config& c, std::string_view v) { return set_path(c.state_dir, v); },
       [](const Config& c) { return c.state_dir; }},
      {"top-functions", "K", "tracked functions kept as their own series; the rest fold into function=\"other\" (default 50)",
       [](Config& c, std::string_view v) { return set_count(c.top_functions, v, 1, 1000); },
       [](const Config& c) { return std::to_string(c.top_functions); }},
      {"leak-medium", "MIB", "residual (MiB) from which integrity is no longer SECURE (default 5; env RAMFLOW_LEAK_MEDIUM)",
       [](Config& c, std::string_view v) { return set_real(c.leak_medium_mib, v, 0, 1 << 20, "a number of MiB"); },
       [](const Config& c) { return show_number(c.leak_medium_mib); }},
      {"leak-high", "MIB", "residual (MiB) from which integrity is BLOATED (default 20; env RAMFLOW_LEAK_HIGH)",
       [](Config& c, std::string_view v) { return set_real(c.leak_high_mib, v, 0, 1 << 20, "a number of MiB"); },
       [](const Config& c) { return show_number(c.leak_high_mib); }},
      {"headroom", "RATIO", "headroom added to the peak for the recommended limit (default 0.2)",
       [](Config& c, std::string_view v) { return set_real(c.headroom, v, 0, 10, "a ratio"); },
       [](const Config& c) { return show_number(c.headroom); }},
      {"restart-horizon", "DURATION", "how long a worker runs between restarts, for leak allowances (default 24h)",
       [](Config& c, std::string_view v) { return set_duration(c.restart_horizon, v, milliseconds(60'000), milliseconds(365LL * 86'400'000)); },
       [](const Config& c) { return format_duration(c.restart_horizon); }},
      {"bucket", "DURATION", "bucket of the per-bucket minima used without task boundaries and for time to OOM (default 60s)",
       [](Config& c, std::string_view v) { return set_duration(c.bucket, v, milliseconds(500), milliseconds(3'600'000)); },
       [](const Config& c) { return format_duration(c.bucket); }},
      {"greedy-mib-per-second", "MIB", "allocation speed above which code is called greedy (default 100)",
       [](Config& c, std::string_view v) { return set_real(c.greedy_mib_per_second, v, 0.001, 1e6, "a number of MiB/s"); },
       [](const Config& c) { return show_number(c.greedy_mib_per_second); }},
      {"oom-risk-margin", "RATIO", "non-reclaimable margin below which the pod is at OOM risk (default 0.1)",
       [](Config& c, std::string_view v) { return set_real(c.oom_risk_margin, v, 0, 1, "a ratio"); },
       [](const Config& c) { return show_number(c.oom_risk_margin); }},
      {"capture-auto", "true|false", "capture allocation sites automatically when a leak turns high and before an OOM kill (default true)",
       [](Config& c, std::string_view v) -> std::string {
         auto b = parse_bool(v);
         if (!b) return "true or false";
         c.capture_auto = *b;
         return {};
       },
       [](const Config& c) { return std::string(c.capture_auto ? "true" : "false"); }},
      {"capture-every", "DURATION", "automatic allocation-site captures: at most one per process per this (default 1h)",
       [](Config& c, std::string_view v) { return set_duration(c.capture_every, v, milliseconds(60'000), milliseconds(7 * 86'400'000LL)); },
       [](const Config& c) { return format_duration(c.capture_every); }},
      {"capture-tasks", "N", "an allocation-site window ends after N tasks (default 20; a leak's window is sized from its rate)",
       [](Config& c, std::string_view v) { return set_count(c.capture_tasks, v, 1, 100000); },
       [](const Config& c) { return std::to_string(c.capture_tasks); }},
      {"capture-seconds", "DURATION", "... or after this long, at the next task end (default 60s)",
       [](Config& c, std::string_view v) { return set_duration(c.capture_seconds, v, milliseconds(1000), milliseconds(3'600'000)); },
       [](const Config& c) { return format_duration(c.capture_seconds); }},
      {"capture-frames", "N", "traceback depth tracemalloc records during a capture (default 8; cost grows with it)",
       [](Config& c, std::string_view v) { return set_count(c.capture_frames, v, 1, 64); },
       [](const Config& c) { return std::to_string(c.capture_frames); }},
      {"capture-oom-within", "DURATION", "capture allocation sites when the pod is at OOM risk and its time to OOM is under this (default 5m)",
       [](Config& c, std::string_view v) { return set_duration(c.capture_oom_within, v, milliseconds(10'000), milliseconds(3'600'000)); },
       [](const Config& c) { return format_duration(c.capture_oom_within); }},
      {"control-socket", "PATH", "Unix socket of `ramflowd capture` (default control.sock beside the agent socket; ramflowd's own UID only)",
       [](Config& c, std::string_view v) { return set_path(c.control_socket, v); },
       [](const Config& c) { return c.control_socket; }},
      {"show-command-lines", "true|false", "show workers' command lines in the report as they are; default false: URL credentials, password-like options and secret-looking variables are replaced by *** (docs/security.md)",
       [](Config& c, std::string_view v) -> std::string {
         auto b = parse_bool(v);
         if (!b) return "true or false";
         c.show_command_lines = *b;
         return {};
       },
       [](const Config& c) { return std::string(c.show_command_lines ? "true" : "false"); }},
      {"log-format", "text|json", "log line format (default text)",
       [](Config& c, std::string_view v) -> std::string {
         if (v == "text") c.log_format = LogFormat::kText;
         else if (v == "json") c.log_format = LogFormat::kJson;
         else return "one of text, json";
         return {};
       },
       [](const Config& c) { return std::string(to_string(c.log_format)); }},
      {"log-level", "LEVEL", "trace, debug, info, warn, error or off (default info)",
       [](Config& c, std::string_view v) -> std::string {
         static const std::vector<std::string_view> levels = {"trace", "debug", "info", "warn", "error", "off"};
         if (std::find(levels.begin(), levels.end(), v) == levels.end()) {
           return "one of trace, debug, info, warn, error, off";
         }
         c.log_level = std::string(v);
         return {};
       },
       [](const Config& c) { return c.log_level; }},
  };
  return table;
}

std::string normalize(std::string_view name) {
  std::string out(name);
  std::replace(out.begin(), out.end(), '_', '-');
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char ch) { return std::tolower(ch); });
  return out;
}

std::string env_name(std::string_view option) {
  std::string out = "RAMFLOW_";
  for (char ch : option) out += ch == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  return out;
}

// A user's text as an error message quotes it: control bytes escaped (a NUL would
// end what() there, losing the option and what to do) and long text cut.
std::string printable(std::string_view text) {
  constexpr std::size_t kMaxBytes = 80;
  std::string out;
  for (const char ch : text.substr(0, kMaxBytes)) {
    const auto byte = static_cast<unsigned char>(ch);
    if (byte < 0x20 || byte == 0x7f) {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[byte >> 4];
      out += kHex[byte & 0xf];
    } else {
      out += ch;
    }
  }
  if (text.size() > kMaxBytes) out += "... (" + std::to_string(text.size()) + " bytes)";
  return out;
}

std::string describe_source(Source source, std::string_view name, std::string_view origin) {
  switch (source) {
    case Source::kFlag: return "--" + printable(name);
    case Source::kEnv: return env_name(name);
    case Source::kFile: return "key '" + printable(name) + "' in " + std::string(origin);
  }
  return std::string(name);
}

}  // namespace

void set_option(Config& config, std::string_view name, std::string_view value, Source source,
                std::string_view origin) {
  std::string key = normalize(name);
  for (const auto& option : options()) {
    if (option.name != key) continue;
    std::string allowed = option.set(config, value);
    if (!allowed.empty()) {
      throw ConfigError("invalid value \"" + printable(value) + "\" for " +
                        describe_source(source, option.name, origin) + ": expected " + allowed);
    }
    config.sources[std::string(option.name)] = source == Source::kFile ? "file" : source == Source::kEnv ? "env" : "flag";
    return;
  }
  std::string known;
  for (const auto& option : options()) known += (known.empty() ? "" : ", ") + std::string(option.name);
  throw ConfigError("unknown option " + describe_source(source, name, origin) + "; known options: " + known);
}

void apply_yaml_text(Config& config, const std::string& text, const std::string& origin) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    throw ConfigError(origin + " is not valid YAML: " + e.what());
  }
  if (root.IsNull()) return;
  if (!root.IsMap()) throw ConfigError(origin + " must be a YAML mapping of option names to values");
  std::map<std::string, int> seen;  // normalized key → line, so a second listen: (or max_processes: for max-processes:) is caught
  for (const auto& entry : root) {
    std::string key;
    try {
      key = entry.first.as<std::string>();
    } catch (const YAML::Exception&) {
      throw ConfigError(origin + " has a key that is not a string");
    }
    const int line = entry.first.Mark().line + 1;
    if (auto [it, fresh] = seen.emplace(normalize(key), line); !fresh) {
      throw ConfigError("key '" + printable(key) + "' appears twice in " + origin + " (line " +
                        std::to_string(it->second) + " and line " + std::to_string(line) +
                        "); keep one, since a later value would silently win");
    }
    const YAML::Node& node = entry.second;
    std::string value;
    if (node.IsScalar()) {
      value = node.Scalar();
    } else if (node.IsSequence() && normalize(key) == "allowed-uids") {
      for (const auto& item : node) {
        if (!item.IsScalar()) throw ConfigError("key 'allowed-uids' in " + origin + " must list numbers");
        value += (value.empty() ? "" : ",") + item.Scalar();
      }
    } else {
      throw ConfigError("key '" + printable(key) + "' in " + origin + " must be a single value, not a " +
                        (node.IsMap() ? "mapping" : node.IsSequence() ? "list" : "null"));
    }
    set_option(config, key, value, Source::kFile, origin);
  }
}

void apply_yaml_file(Config& config, const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    throw ConfigError("cannot read config file " + path + ": " + std::strerror(errno) +
                      " — check the path given to --config / RAMFLOW_CONFIG");
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (text.str().size() > (1 << 20)) throw ConfigError("config file " + path + " is larger than 1 MiB");
  apply_yaml_text(config, text.str(), path);
}

void apply_environment(Config& config, char** envp) {
  if (envp == nullptr) return;
  for (const auto& option : options()) {
    std::string want = env_name(option.name) + "=";
    for (char** e = envp; *e != nullptr; ++e) {
      if (std::strncmp(*e, want.c_str(), want.size()) == 0) {
        set_option(config, option.name, *e + want.size(), Source::kEnv);
      }
    }
  }
}

std::string options_help() {
  std::ostringstream out;
  for (const auto& option : options()) {
    std::string left = "  --" + std::string(option.name) + " " + std::string(option.placeholder);
    out << left;
    out << std::string(left.size() < 34 ? 34 - left.size() : 1, ' ') << option.help << "\n";
    out << std::string(34, ' ') << "env " << env_name(option.name) << ", YAML key "
        << std::string(option.name) << "\n";
  }
  return out.str();
}

std::vector<std::pair<std::string, std::string>> describe(const Config& config) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& option : options()) out.emplace_back(std::string(option.name), option.show(config));
  return out;
}

std::string_view to_string(LogFormat f) { return f == LogFormat::kJson ? "json" : "text"; }

std::string_view to_string(EbpfMode m) {
  switch (m) {
    case EbpfMode::kAuto: return "auto";
    case EbpfMode::kOn: return "on";
    case EbpfMode::kOff: return "off";
  }
  return "auto";
}

}  // namespace ramflow::config
