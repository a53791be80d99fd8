// `ramflowd capture --pid N [--tasks N | --seconds T] [--url unix:PATH] [--output text|json]`:
// asks the serving ramflowd, on its control socket (app/control_socket.h), for
// one allocation-site capture of a worker process, waits for its window and
// prints the sites that grew.
#pragma once

#include <string>

#include "app/cli.h"
#include "config/config.h"

namespace ramflow::app {

// The control socket a --url names: unix:PATH, unix://PATH or a path; empty
// --url: the configured default. Throws std::invalid_argument for an HTTP URL
// (the HTTP port is read-only) or anything else.
std::string control_socket_of(const std::string& url, const config::Config& config);

int capture_command(const CommandLine& cl, const config::Config& config);

}  // namespace ramflow::app
