#include "bpf/victim_view.h"

#include <sys/stat.h>

#include <cstring>
#include <filesystem>
#include <system_error>

#include "bpf/oom_watch.h"

namespace ramflow::bpf {

uint64_t own_pid_namespace() {
  struct stat st {};
  if (stat("/proc/self/ns/pid", &st) != 0) return 0;
  return st.st_ino;
}

OomEvent to_oom_event(const oom_watch_event& raw, uint64_t own_pid_ns, long page_size) {
  OomEvent e;
  e.host_pid = static_cast<pid_t>(raw.host_tgid);
  e.uid = raw.uid;
  const uint32_t levels = raw.nr_levels < OOM_WATCH_MAX_PID_LEVELS ? raw.nr_levels : OOM_WATCH_MAX_PID_LEVELS;
  for (uint32_t i = 0; i < levels; ++i) {
    if (own_pid_ns != 0 && raw.upid[i].ns_inum == own_pid_ns) e.pid = static_cast<pid_t>(raw.upid[i].nr);
    if (i == raw.pid_level) e.ns_pid = static_cast<pid_t>(raw.upid[i].nr);
  }
  e.comm.assign(raw.comm, strnlen(raw.comm, sizeof(raw.comm)));
  e.start_time_ns = raw.start_boottime_ns;
  e.cgroup_id = raw.memcg_id;
  const auto page = static_cast<uint64_t>(page_size);
  e.total_vm_bytes = raw.total_vm_pages * page;
  e.anon_rss_bytes = raw.anon_rss_pages * page;
  e.file_rss_bytes = raw.file_rss_pages * page;
  e.shmem_rss_bytes = raw.shmem_rss_pages * page;
  return e;
}

CgroupDirectory::CgroupDirectory(std::vector<std::string> watched) : watched_(std::move(watched)) {}

bool CgroupDirectory::resolve(OomEvent& event) {
  auto it = by_id_.find(event.cgroup_id);
  if (it == by_id_.end()) {
    rescan();
    it = by_id_.find(event.cgroup_id);
    if (it == by_id_.end()) return false;
  }
  event.cgroup_dir = it->second.first;
  event.watched_cgroup = it->second.second;
  return true;
}

void CgroupDirectory::rescan() {
  namespace fs = std::filesystem;
  by_id_.clear();
  for (const auto& root : watched_) {
    struct stat st {};
    if (stat(root.c_str(), &st) != 0) continue;
    by_id_[st.st_ino] = {root, root};
    std::error_code ec;
    for (fs::recursive_directory_iterator it(root, fs::directory_options::skip_permission_denied, ec), end;
         !ec && it != end; it.increment(ec)) {
      if (!it->is_directory(ec)) continue;
      if (stat(it->path().c_str(), &st) == 0) by_id_[st.st_ino] = {it->path().string(), root};
    }
  }
}

}  // namespace ramflow::bpf
