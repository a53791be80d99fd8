// `ramflowd webhook`: the injection webhook's HTTPS server until SIGTERM/SIGINT.
#pragma once

#include "app/cli.h"

namespace ramflow::app {

// Returns the exit code: 2 for bad options, 1 when the server cannot start.
int webhook_command(const CommandLine& cl, char** envp);

}  // namespace ramflow::app
