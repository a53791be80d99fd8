// spdlog set-up: text (human) or JSON (one object per line) on stderr.
#pragma once

#include <string>

#include "config/config.h"

namespace ramflow::app {

void setup_logging(config::LogFormat format, const std::string& level);

}  // namespace ramflow::app
