// Built when RAMFLOW_WITH_BPF is OFF (or AUTO without clang/bpftool).
#include "bpf/oom_watcher.h"

namespace ramflow::bpf {

struct OomWatcher::Impl {};

bool OomWatcher::built_with_bpf() { return false; }

std::unique_ptr<OomWatcher> OomWatcher::start(const Options&, std::string* why_not) {
  if (why_not) *why_not = "built without eBPF support (configure with -DRAMFLOW_WITH_BPF=ON)";
  return nullptr;
}

OomWatcher::OomWatcher(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
OomWatcher::~OomWatcher() = default;
void OomWatcher::stop() { impl_.reset(); }
uint64_t OomWatcher::events_dropped_by_filter() const { return 0; }

}  // namespace ramflow::bpf
