#include "webhook/webhook_options.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <functional>
#include <regex>
#include <sstream>
#include <string_view>

#include "config/parse_value.h"

namespace ramflow::webhook {
namespace {

struct Option {
  std::string_view name;
  std::string_view placeholder;
  std::string_view help;
  // Returns what is allowed when the value is bad, else an empty string.
  std::function<std::string(WebhookOptions&, std::string_view)> set;
};

std::string set_text(std::string& field, std::string_view v) {
  if (v.empty() || std::any_of(v.begin(), v.end(), [](unsigned char c) { return c <= ' ' || c == 0x7f; })) {
    return "a non-empty value without spaces or control characters";
  }
  field = std::string(v);
  return {};
}

// An absolute directory that can stand in PYTHONPATH and in a volume mount.
std::string set_directory(std::string& field, std::string_view v) {
  if (v.size() < 2 || v.front() != '/' || v.back() == '/' || v.find(':') != std::string_view::npos ||
      set_text(field, v) != "") {
    return "an absolute directory other than /, without a trailing slash or ':', e.g. /run/ramflow";
  }
  return {};
}

// A Kubernetes resource quantity ("20m", "0.5", "48Mi", "1e3"); empty leaves it unset.
std::string set_quantity(std::string& field, std::string_view v) {
  static const std::regex quantity(R"(^[0-9]+(\.[0-9]*)?(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei|[eE][+-]?[0-9]+)?$)");
  if (!v.empty() && !std::regex_match(v.begin(), v.end(), quantity)) {
    return "a Kubernetes quantity such as 20m, 0.5, 48Mi or 1Gi (empty: not set)";
  }
  field = std::string(v);
  return {};
}

std::function<std::string(WebhookOptions&, std::string_view)> quantity_option(Resources InjectionSettings::*container,
                                                                               std::string Resources::*quantity) {
  return [container, quantity](WebhookOptions& o, std::string_view v) {
    return set_quantity(o.injection.*container.*quantity, v);
  };
}

// Checks the value with ramflowd's own rule for option `daemon_name`, then keeps it.
using Keep = std::function<void(WebhookOptions&, const config::Config& parsed, std::string_view text)>;
std::function<std::string(WebhookOptions&, std::string_view)> checked_as(std::string_view daemon_name, Keep keep) {
  return [daemon_name, keep](WebhookOptions& o, std::string_view v) -> std::string {
    config::Config parsed;
    try {
      config::set_option(parsed, daemon_name, v, config::Source::kFlag);
    } catch (const config::ConfigError& e) {
      const std::string what = e.what();
      const auto expected = what.find("expected ");
      return (expected == std::string::npos ? what : what.substr(expected + 9)) + " (as ramflowd serve --" +
             std::string(daemon_name) + ")";
    }
    keep(o, parsed, v);
    return {};
  };
}

// Values handed to `ramflowd serve` as they are: checked here, so the injected
// sidecar is sure to start with them.
std::function<std::string(WebhookOptions&, std::string_view)> sidecar_option(
    std::string_view daemon_name, std::string InjectionSettings::*field) {
  return checked_as(daemon_name, [field](WebhookOptions& o, const config::Config&, std::string_view v) {
    o.injection.*field = std::string(v);
  });
}

const std::vector<Option>& options() {
  using S = InjectionSettings;
  static const std::vector<Option> table = {
      {"listen", "HOST:PORT", "address of the HTTPS server: /mutate, /mutate/namespace, /healthz, /metrics (default 0.0.0.0:8443)",
       [](WebhookOptions& o, std::string_view v) -> std::string {
         if (!config::valid_listen_address(v)) return "HOST:PORT with a port from 0 to 65535, e.g. 0.0.0.0:8443";
         o.listen = std::string(v);
         return {};
       }},
      {"tls-cert", "FILE", "PEM certificate (and chain) the server presents; reread when the file changes (required)",
       [](WebhookOptions& o, std::string_view v) { return set_text(o.tls_cert, v); }},
      {"tls-key", "FILE", "PEM private key of the certificate; reread when the file changes (required)",
       [](WebhookOptions& o, std::string_view v) { return set_text(o.tls_key, v); }},
      {"log-format", "text|json", "the webhook's log line format (default text)",
       checked_as("log-format", [](WebhookOptions& o, const config::Config& c, std::string_view) { o.log_format = c.log_format; })},
      {"log-level", "LEVEL", "the webhook's log level: trace, debug, info, warn, error or off (default info)",
       checked_as("log-level", [](WebhookOptions& o, const config::Config& c, std::string_view) { o.log_level = c.log_level; })},
      {"image", "IMAGE", "ramflow image of the injected containers (default: this release's ghcr.io/ramflow/ramflow tag)",
       [](WebhookOptions& o, std::string_view v) { return set_text(o.injection.image, v); }},
      {"image-pull-policy", "POLICY", "Always, IfNotPresent or Never (default IfNotPresent)",
       [](WebhookOptions& o, std::string_view v) -> std::string {
         if (v != "Always" && v != "IfNotPresent" && v != "Never") return "one of Always, IfNotPresent, Never";
         o.injection.image_pull_policy = std::string(v);
         return {};
       }},
      {"native-sidecar", "true|false", "inject a native sidecar (init container with restartPolicy: Always, Kubernetes >= 1.29); false: a plain first container (default true)",
       [](WebhookOptions& o, std::string_view v) -> std::string {
         auto b = config::parse_bool(v);
         if (!b) return "true or false";
         o.injection.native_sidecar = *b;
         return {};
       }},
      {"sidecar-port", "PORT", "port of the injected sidecar's /metrics (default 9977)",
       [](WebhookOptions& o, std::string_view v) -> std::string {
         auto n = config::parse_unsigned(v);
         if (!n || *n < 1 || *n > 65535) return "a port from 1 to 65535";
         o.injection.sidecar_port = static_cast<int>(*n);
         return {};
       }},
      {"interval", "DURATION", "sampling interval of the injected sidecar (default 1s)", sidecar_option("interval", &S::interval)},
      {"max-processes", "N", "the injected sidecar's --max-processes (default 64)", sidecar_option("max-processes", &S::max_processes)},
      {"process-match", "REGEX", "the injected sidecar's --process-match (default: ramflowd's)", sidecar_option("process-match", &S::process_match)},
      {"sidecar-log-format", "text|json", "the injected sidecar's log format (default json)", sidecar_option("log-format", &S::sidecar_log_format)},
      {"sidecar-log-level", "LEVEL", "the injected sidecar's log level (default info)", sidecar_option("log-level", &S::sidecar_log_level)},
      {"leak-medium", "MIB", "the injected sidecar's RAMFLOW_LEAK_MEDIUM (default 5)", sidecar_option("leak-medium", &S::leak_medium_mib)},
      {"leak-high", "MIB", "the injected sidecar's RAMFLOW_LEAK_HIGH (default 20)", sidecar_option("leak-high", &S::leak_high_mib)},
      {"capture-auto", "true|false", "the injected sidecar's --capture-auto (default true)", sidecar_option("capture-auto", &S::capture_auto)},
      {"capture-every", "DURATION", "the injected sidecar's --capture-every (default 1h)", sidecar_option("capture-every", &S::capture_every)},
      {"sidecar-cpu-request", "QUANTITY", "CPU request of the sidecar (default 20m)",
       quantity_option(&S::sidecar_resources, &Resources::cpu_request)},
      {"sidecar-memory-request", "QUANTITY", "memory request of the sidecar (default 48Mi)",
       quantity_option(&S::sidecar_resources, &Resources::memory_request)},
      {"sidecar-cpu-limit", "QUANTITY", "CPU limit of the sidecar (default none)",
       quantity_option(&S::sidecar_resources, &Resources::cpu_limit)},
      {"sidecar-memory-limit", "QUANTITY", "memory limit of the sidecar (default 128Mi)",
       quantity_option(&S::sidecar_resources, &Resources::memory_limit)},
      {"agent-cpu-request", "QUANTITY", "CPU request of the agent-copy init container (default 10m)",
       quantity_option(&S::agent_resources, &Resources::cpu_request)},
      {"agent-memory-request", "QUANTITY", "memory request of the agent-copy init container (default 16Mi)",
       quantity_option(&S::agent_resources, &Resources::memory_request)},
      {"agent-cpu-limit", "QUANTITY", "CPU limit of the agent-copy init container (default none)",
       quantity_option(&S::agent_resources, &Resources::cpu_limit)},
      {"agent-memory-limit", "QUANTITY", "memory limit of the agent-copy init container (default 32Mi)",
       quantity_option(&S::agent_resources, &Resources::memory_limit)},
      {"socket-dir", "DIR", "directory of the agent socket in both containers (default /run/ramflow)",
       [](WebhookOptions& o, std::string_view v) { return set_directory(o.injection.socket_dir, v); }},
      {"agent-mount-path", "DIR", "where the agent is copied to and mounted in the worker (default /ramflow-agent)",
       [](WebhookOptions& o, std::string_view v) { return set_directory(o.injection.agent_mount_path, v); }},
  };
  return table;
}

std::string env_name(std::string_view option) {
  std::string out = "RAMFLOW_";
  for (char ch : option) out += ch == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  return out;
}

void set(WebhookOptions& o, std::string_view name, std::string_view value, const std::string& source) {
  for (const auto& option : options()) {
    if (option.name != name) continue;
    if (std::string allowed = option.set(o, value); !allowed.empty()) {
      throw config::ConfigError("invalid value \"" + std::string(value.substr(0, 80)) + "\" for " + source +
                                ": expected " + allowed);
    }
    return;
  }
  std::string known;
  for (const auto& option : options()) known += (known.empty() ? "" : ", ") + std::string(option.name);
  throw config::ConfigError("unknown option " + source + " for ramflowd webhook; known options: " + known);
}

}  // namespace

WebhookOptions parse_webhook_options(const std::vector<std::pair<std::string, std::string>>& flags, char** envp,
                                     const std::string& image) {
  WebhookOptions o;
  o.injection.image = image;
  for (const auto& option : options()) {
    const std::string want = env_name(option.name) + "=";
    for (char** e = envp; e != nullptr && *e != nullptr; ++e) {
      if (std::strncmp(*e, want.c_str(), want.size()) == 0) set(o, option.name, *e + want.size(), env_name(option.name));
    }
  }
  for (const auto& [name, value] : flags) set(o, name, value, "--" + name);
  if (o.tls_cert.empty() || o.tls_key.empty()) {
    throw config::ConfigError(
        "ramflowd webhook needs --tls-cert FILE and --tls-key FILE: the API server calls admission webhooks over "
        "HTTPS only (docs/kubernetes.md shows how to get a certificate)");
  }
  if (*config::parse_number(o.injection.leak_medium_mib) > *config::parse_number(o.injection.leak_high_mib)) {
    throw config::ConfigError("--leak-medium (" + o.injection.leak_medium_mib + ") must not exceed --leak-high (" +
                              o.injection.leak_high_mib + ")");
  }
  return o;
}

std::string webhook_options_help() {
  std::ostringstream out;
  for (const auto& option : options()) {
    std::string left = "  --" + std::string(option.name) + " " + std::string(option.placeholder);
    out << left << std::string(left.size() < 34 ? 34 - left.size() : 1, ' ') << option.help << "\n";
  }
  out << "  Every option is also read from RAMFLOW_<NAME> (e.g. RAMFLOW_TLS_CERT); flags win.\n";
  return out.str();
}

}  // namespace ramflow::webhook
