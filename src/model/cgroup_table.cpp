#include "model/cgroup_table.h"

#include <algorithm>

namespace ramflow::model {

CgroupFacts& CgroupTable::get(const std::string& path) {
  auto it = cgroups_.find(path);
  if (it == cgroups_.end()) {
    CgroupFacts f;
    f.path = path;
    it = cgroups_.emplace(path, std::move(f)).first;
  }
  return it->second;
}

void CgroupTable::record(const std::string& path, const probe::CgroupMemory& reading, double now) {
  CgroupFacts& f = get(path);
  f.last = reading;
  f.has_reading = true;
  f.last_read = now;
  f.vanished = false;
  f.highest_working_set = std::max(f.highest_working_set, reading.working_set());
}

void CgroupTable::mark_vanished(const std::string& path, double now) {
  auto it = cgroups_.find(path);
  if (it == cgroups_.end() || it->second.vanished) return;
  it->second.vanished = true;
  it->second.vanished_at = now;
}

void CgroupTable::expire(double now, double keep_seconds) {
  for (auto it = cgroups_.begin(); it != cgroups_.end();) {
    const CgroupFacts& f = it->second;
    bool stale = f.vanished ? now - f.vanished_at > keep_seconds : now - f.last_used > keep_seconds;
    if (stale) {
      it = cgroups_.erase(it);
    } else {
      ++it;
    }
  }
}

}  // namespace ramflow::model
