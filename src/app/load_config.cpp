#include "app/load_config.h"

#include <cstdlib>

namespace ramflow::app {

config::Config load_config(const CommandLine& cl, char** envp) {
  config::Config c;
  std::string file = cl.config_file;
  if (file.empty()) {
    if (const char* env = std::getenv("RAMFLOW_CONFIG")) file = env;
  }
  if (!file.empty()) config::apply_yaml_file(c, file);
  config::apply_environment(c, envp);
  for (const auto& [name, value] : cl.options) config::set_option(c, name, value, config::Source::kFlag);
  if (c.leak_medium_mib > c.leak_high_mib) {
    throw config::ConfigError("leak-medium (" + std::to_string(c.leak_medium_mib) + " MiB) must not exceed leak-high (" +
                              std::to_string(c.leak_high_mib) + " MiB); check RAMFLOW_LEAK_MEDIUM / RAMFLOW_LEAK_HIGH");
  }
  return c;
}

}  // namespace ramflow::app
