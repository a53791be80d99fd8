#pragma once
// Worker groups from the process tree (DESIGN.md "prefork children"): a main
// and every watched descendant, or one process alone. Roles come from the tree,
// never from pid order (a child forked after a pid wrap has a lower pid than
// its parent). A process without an agent that only started the worker (tini,
// `sh -c`, timeout) is seen through: the worker under it leads the group and
// the wrapper is listed with it.
//
//   auto tree = worker_groups(nodes);   // nodes: every watched process of one cgroup
//   for (const auto& g : tree.groups) ... g.main, g.members
//   tree.roles.at(pid)                  // main, child, standalone or wrapper

#include <sys/types.h>

#include <map>
#include <span>
#include <string_view>
#include <vector>

namespace ramflow::analysis {

enum class ProcessRole { main, child, standalone, wrapper };
std::string_view to_string(ProcessRole role);  // "main", "child", "standalone", "wrapper"

struct ProcessNode {
  pid_t pid = 0;
  pid_t ppid = 0;
  bool has_agent = false;
};

struct WorkerGroupShape {
  pid_t main = 0;
  std::vector<pid_t> members;  // main first, then its descendants and any wrapper above it, by pid
};

struct ProcessTree {
  std::vector<WorkerGroupShape> groups;  // in the order of their first node
  std::map<pid_t, ProcessRole> roles;
};

// Total over any input: a ppid cycle or a duplicate pid cannot loop or repeat a member.
ProcessTree worker_groups(std::span<const ProcessNode> nodes);

}  // namespace ramflow::analysis
