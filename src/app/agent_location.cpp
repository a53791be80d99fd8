#include "app/agent_location.h"

#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <filesystem>
#include <vector>

namespace ramflow::app {

std::string find_agent_dir() {
  namespace fs = std::filesystem;
  std::vector<fs::path> candidates;
  if (const char* env = std::getenv("RAMFLOW_AGENT_DIR")) candidates.emplace_back(env);
  char exe[PATH_MAX] = {};
  ssize_t n = ::readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n > 0) candidates.push_back(fs::path(std::string(exe, static_cast<std::size_t>(n))).parent_path() / "../share/ramflow/agent");
  candidates.emplace_back("/opt/ramflow/agent");
  candidates.emplace_back(RAMFLOW_SOURCE_AGENT_DIR);
  for (const auto& c : candidates) {
    std::error_code ec;
    if (fs::exists(c / "sitecustomize" / "sitecustomize.py", ec) && fs::exists(c / "ramflow" / "__init__.py", ec)) {
      return fs::weakly_canonical(c, ec).string();
    }
  }
  return {};
}

}  // namespace ramflow::app
