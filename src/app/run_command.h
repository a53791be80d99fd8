// `ramflowd run [options] -- CMD ARGS...`: runs CMD with the agent injected
// (sitecustomize via PYTHONPATH, a private socket), watches it and its
// children, serves the live dashboard, forwards signals and the exit code,
// then prints an executive summary and writes a standalone HTML report.
#pragma once

#include "app/cli.h"
#include "config/config.h"

namespace ramflow::app {

int run_command(const CommandLine& cl, config::Config config);

}  // namespace ramflow::app
