#include "analysis/worker_groups.h"

#include <algorithm>
#include <set>

namespace ramflow::analysis {

std::string_view to_string(ProcessRole role) {
  switch (role) {
    case ProcessRole::main: return "main";
    case ProcessRole::child: return "child";
    case ProcessRole::standalone: return "standalone";
    case ProcessRole::wrapper: return "wrapper";
  }
  return "standalone";
}

ProcessTree worker_groups(std::span<const ProcessNode> input) {
  std::vector<ProcessNode> nodes;
  std::set<pid_t> seen;
  for (const auto& n : input) {
    if (seen.insert(n.pid).second) nodes.push_back(n);
  }
  auto children_of = [&](pid_t pid) {
    std::vector<const ProcessNode*> out;
    for (const auto& n : nodes) {
      if (n.ppid == pid && n.pid != pid) out.push_back(&n);
    }
    return out;
  };

  ProcessTree tree;
  std::set<pid_t> placed;
  for (const auto& root : nodes) {
    if (seen.count(root.ppid) && root.ppid != root.pid) continue;  // part of its parent's group
    const ProcessNode* main = &root;
    std::vector<pid_t> wrappers;
    for (auto kids = children_of(main->pid); !main->has_agent && kids.size() == 1 && wrappers.size() < nodes.size();
         kids = children_of(main->pid)) {
      wrappers.push_back(main->pid);
      main = kids.front();
    }
    if (!main->has_agent) {  // no agent down the chain: no wrapper to see through
      main = &root;
      wrappers.clear();
    }
    std::vector<pid_t> descendants;
    std::vector<pid_t> frontier{main->pid};
    std::set<pid_t> in_group{main->pid};
    in_group.insert(wrappers.begin(), wrappers.end());
    while (!frontier.empty()) {  // every descendant, however deep
      pid_t p = frontier.back();
      frontier.pop_back();
      for (const auto* kid : children_of(p)) {
        if (!in_group.insert(kid->pid).second) continue;  // a ppid cycle in odd input cannot loop
        descendants.push_back(kid->pid);
        frontier.push_back(kid->pid);
      }
    }
    WorkerGroupShape g;
    g.main = main->pid;
    g.members.push_back(main->pid);
    std::vector<pid_t> rest = descendants;
    rest.insert(rest.end(), wrappers.begin(), wrappers.end());
    std::sort(rest.begin(), rest.end());
    g.members.insert(g.members.end(), rest.begin(), rest.end());
    const bool alone = g.members.size() == 1;
    tree.roles[g.main] = alone ? ProcessRole::standalone : ProcessRole::main;
    for (pid_t d : descendants) tree.roles[d] = ProcessRole::child;
    for (pid_t w : wrappers) tree.roles[w] = ProcessRole::wrapper;
    placed.insert(g.members.begin(), g.members.end());
    tree.groups.push_back(std::move(g));
  }
  // Nodes only reachable through a ppid cycle have no root: each stands alone.
  for (const auto& n : nodes) {
    if (placed.count(n.pid)) continue;
    tree.roles[n.pid] = ProcessRole::standalone;
    tree.groups.push_back({n.pid, {n.pid}});
  }
  return tree;
}

}  // namespace ramflow::analysis
