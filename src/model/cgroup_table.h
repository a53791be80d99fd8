// Memory facts of every worker cgroup seen, keyed by its path under the
// cgroup root. A cgroup that vanishes (a restarted container, a kubelet
// killing the whole container) keeps its last counters so no OOM kill is lost.
#pragma once

#include <map>
#include <optional>
#include <string>

#include "probe/cgroup.h"

namespace ramflow::model {

struct CgroupFacts {
  std::string path;  // relative to the cgroup root; "/" for the root
  probe::CgroupMemory last;
  bool has_reading = false;
  double last_read = 0;
  double last_used = 0;  // last cycle a watched process lived in it
  bool vanished = false;
  double vanished_at = 0;
  std::uint64_t highest_working_set = 0;
};

class CgroupTable {
 public:
  CgroupTable() = default;

  CgroupFacts& get(const std::string& path);
  void record(const std::string& path, const probe::CgroupMemory& reading, double now);
  void mark_vanished(const std::string& path, double now);
  // Drops cgroups that vanished, or that no watched process used, more than
  // `keep_seconds` ago.
  void expire(double now, double keep_seconds);
  std::map<std::string, CgroupFacts>& cgroups() { return cgroups_; }
  const std::map<std::string, CgroupFacts>& cgroups() const { return cgroups_; }

 private:
  std::map<std::string, CgroupFacts> cgroups_;
};

}  // namespace ramflow::model
