// The `worker` label of every watched process (DESIGN.md "Metric contract"):
// bounded, stable and unique within the pod, so that recycled processes do not
// mint new series. A process is named by its agent when the agent gave a name
// no other live process holds (Celery: `celery@host/2`); otherwise by a slot
// ramflowd assigns by role and reuses:
//
//   main, main/2, ...          the main of a worker group (a second group's is main/2)
//   child/1 .. child/N         its children; a slot freed by a recycled child goes to
//                              the next child of the same group, its replacement
//   standalone, standalone/2   a process alone
//   wrapper, wrapper/2         a process that only started the worker (tini, sh -c)
//
// A process keeps its name while it lives and its role fits the slot; the
// holder of a name keeps it against a newcomer claiming the same (a prefork
// child inherits its parent's name until it renames itself). Runs on the
// sampling thread; remembers only live processes and the group of each child
// slot (bounded by the processes watched at once).
//
//   WorkerIdentities names;
//   names.assign(snapshot.processes, groups);  // sets every ProcessView::worker
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <set>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "analysis/worker_groups.h"
#include "model/snapshot.h"

namespace ramflow::model {

class WorkerIdentities {
 public:
  // `groups`: this cycle's worker groups (every cgroup's), with roles already in `processes`.
  void assign(std::vector<ProcessView>& processes, std::span<const analysis::WorkerGroupShape> groups);

 private:
  using Key = std::pair<pid_t, std::uint64_t>;  // pid, start time: a reused pid is another process

  std::string free_slot(analysis::ProcessRole role, pid_t group, const std::map<std::string, Key>& taken,
                        const std::set<pid_t>& live_groups) const;

  std::map<Key, std::string> names_;               // the name of each process alive last cycle
  std::map<std::string, pid_t> child_slot_group_;  // child slot -> the main of the group it last served
};

}  // namespace ramflow::model
