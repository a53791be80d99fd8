// Where the Python agent's sitecustomize directory is, for `ramflowd run`.
#pragma once

#include <string>

namespace ramflow::app {

// RAMFLOW_AGENT_DIR, else <exe>/../share/ramflow/agent, /opt/ramflow/agent,
// else the source tree this binary was built from. The returned directory
// holds `ramflow/` and `sitecustomize/`. Empty when none exists.
std::string find_agent_dir();

}  // namespace ramflow::app
