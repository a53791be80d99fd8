// The options of `ramflowd webhook`: where it listens, its TLS files, and what
// it injects. Flags win over RAMFLOW_<NAME> environment variables, which win
// over the defaults (the Helm chart's). A bad value is a config::ConfigError
// naming the option, the value and what is allowed.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "config/config.h"
#include "webhook/injection_settings.h"

namespace ramflow::webhook {

struct WebhookOptions {
  std::string listen = "0.0.0.0:8443";
  std::string tls_cert;  // PEM: the serving certificate, then its chain
  std::string tls_key;   // PEM private key
  config::LogFormat log_format = config::LogFormat::kText;
  std::string log_level = "info";
  InjectionSettings injection;
};

// `flags` are the command line's --name value pairs in order; `envp` the
// environment; `image` the default ramflow image of this release.
WebhookOptions parse_webhook_options(const std::vector<std::pair<std::string, std::string>>& flags, char** envp,
                                     const std::string& image);

std::string webhook_options_help();

}  // namespace ramflow::webhook
