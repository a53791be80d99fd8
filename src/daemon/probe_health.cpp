#include "daemon/probe_health.h"

#include <spdlog/spdlog.h>

namespace ramflow::daemon {
namespace {

// A cause is the source and the kind of failure, with the pid stripped from
// /proc paths so one unreadable file per process is still one cause.
std::string cause_of(const std::string& source, const probe::ReadError& error) {
  std::string path = error.path;
  auto proc = path.find("/proc/");
  if (proc != std::string::npos) {
    auto start = proc + 6;
    auto end = path.find('/', start);
    if (end != std::string::npos) path.replace(start, end - start, "PID");
  }
  return source + "|" + std::string(probe::to_string(error.kind)) + "|" + path;
}

}  // namespace

ProbeHealth::ProbeHealth() {
  for (const char* source : {"discovery", "status", "smaps_rollup", "cgroup", "meminfo", "psi"}) errors_[source] = 0;
}

void ProbeHealth::error(const std::string& source, const probe::ReadError& error) {
  ++errors_[source];
  if (logged_causes_.size() < 1000 && logged_causes_.insert(cause_of(source, error)).second) {
    spdlog::warn("probe {}: {} (logged once per cause; counted in ramflow_probe_errors_total)", source,
                 error.message());
  }
}

}  // namespace ramflow::daemon
