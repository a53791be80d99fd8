// The config loader on arbitrary YAML text: applied, or a ConfigError; any
// other exception (yaml-cpp's own included) escapes and is a crash.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "check.h"
#include "config/config.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace ramflow::config;
  Config config;
  try {
    apply_yaml_text(config, std::string(reinterpret_cast<const char*>(data), size), "fuzz.yaml");
  } catch (const ConfigError& e) {
    if (std::string(e.what()).find("fuzz.yaml") == std::string::npos) {
      std::fprintf(stderr, "ConfigError without the file's name: %s\n", e.what());
      std::abort();
    }
    return 0;
  }
  RAMFLOW_FUZZ_CHECK(describe(config).size() > 0);
  return 0;
}
