// Builds the Config from defaults, the YAML file, RAMFLOW_* and flags, in that order.
#pragma once

#include "app/cli.h"
#include "config/config.h"

namespace ramflow::app {

config::Config load_config(const CommandLine& cl, char** envp);

}  // namespace ramflow::app
