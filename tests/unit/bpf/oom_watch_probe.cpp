// Test helper: runs the OOM watcher where the test puts it (e.g. inside a new
// pid namespace via `unshare --pid --fork --mount-proc`), OOM-kills a python
// child in the given cgroup and prints what it saw as one JSON line.
//   oom_watch_probe <memory-cgroup-dir>   -> {"child_pid":..,"event_pid":..,...}
//   oom_watch_probe --start-only          -> {"started":..,"why_not":".."}
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "bpf/oom_watcher.h"
#include "oom_child.h"

using ramflow::bpf::OomEvent;
using ramflow::bpf::OomWatcher;

int main(int argc, char** argv) {
  nlohmann::json out;
  if (argc != 2) {
    std::fprintf(stderr, "usage: oom_watch_probe <memory-cgroup-dir> | --start-only\n");
    return 2;
  }
  const std::string arg = argv[1];
  std::mutex mutex;
  std::condition_variable arrived;
  std::optional<OomEvent> seen;
  ramflow::bpf::Options options;
  if (arg != "--start-only") options.cgroup_dirs = {arg};
  options.on_event = [&](const OomEvent& e) {
    std::lock_guard lock(mutex);
    if (!seen) seen = e;
    arrived.notify_all();
  };
  std::string why_not;
  auto watcher = OomWatcher::start(options, &why_not);
  if (arg == "--start-only" || !watcher) {
    out["started"] = watcher != nullptr;
    out["why_not"] = why_not;
    std::printf("%s\n", out.dump().c_str());
    return 0;
  }
  ramflow::bpf::testing::OomChild child(arg);
  out["child_pid"] = child.pid();
  out["killed"] = child.wait_killed();
  std::unique_lock lock(mutex);
  arrived.wait_for(lock, std::chrono::seconds(20), [&] { return seen.has_value(); });
  if (seen) {
    out["event_pid"] = seen->pid;
    out["host_pid"] = seen->host_pid;
    out["ns_pid"] = seen->ns_pid;
    out["comm"] = seen->comm;
    out["anon_rss_bytes"] = seen->anon_rss_bytes;
    out["watched_cgroup"] = seen->watched_cgroup;
  }
  std::printf("%s\n", out.dump().c_str());
  return 0;
}
