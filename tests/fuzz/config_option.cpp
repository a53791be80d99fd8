// set_option with a fuzzed name and value: the input is "NAME=VALUE" (the
// first '='; without one, the whole input is the name and the value is empty).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "check.h"
#include "config/config.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace ramflow::config;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const std::size_t eq = input.find('=');
  const std::string_view name = input.substr(0, eq);
  const std::string_view value = eq == std::string_view::npos ? std::string_view() : input.substr(eq + 1);
  Config config;
  try {
    set_option(config, name, value, Source::kFile, "fuzz.yaml");
  } catch (const ConfigError& e) {
    RAMFLOW_FUZZ_CHECK(std::string_view(e.what()).find("fuzz.yaml") != std::string_view::npos);
    return 0;
  }
  RAMFLOW_FUZZ_CHECK(describe(config).size() > 0);  // shows what was set
  return 0;
}
