// The socket path agents and ramflowd agree on when nobody configures one:
// <run_dir>/ramflow.sock if run_dir (/run/ramflow) exists, else
// /tmp/ramflow-<uid>/ramflow.sock. The agent's ramflow/_config.py applies the same rule.
#pragma once

#include <sys/types.h>

#include <string>

namespace ramflow::ingest {

std::string default_socket_path(const std::string& run_dir, uid_t uid);
std::string default_socket_path();  // run_dir "/run/ramflow", the caller's uid

}  // namespace ramflow::ingest
