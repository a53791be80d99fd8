#include "model/worker_identity.h"

#include <algorithm>
#include <charconv>
#include <set>

namespace ramflow::model {
namespace {

using analysis::ProcessRole;

std::string_view slot_base(ProcessRole role) { return analysis::to_string(role); }

// Slot `index` (from 1) of a role: main, main/2...; child/1, child/2...
std::string slot_name(ProcessRole role, int index) {
  std::string base(slot_base(role));
  if (role != ProcessRole::child && index == 1) return base;
  return base + "/" + std::to_string(index);
}

// Whether `name` is one of the role's slots.
bool is_slot_of(const std::string& name, ProcessRole role) {
  const std::string_view base = slot_base(role);
  if (role != ProcessRole::child && name == base) return true;
  if (name.size() <= base.size() + 1 || name.compare(0, base.size(), base) != 0 || name[base.size()] != '/') return false;
  int index = 0;
  const char* first = name.data() + base.size() + 1;
  const char* last = name.data() + name.size();
  auto [end, error] = std::from_chars(first, last, index);
  return error == std::errc() && end == last && index >= (role == ProcessRole::child ? 1 : 2) && *first != '0';
}

std::string agent_name(const ProcessView& p) {
  return p.agent && p.agent->hello ? p.agent->hello->worker : std::string();
}

}  // namespace

std::string WorkerIdentities::free_slot(ProcessRole role, pid_t group, const std::map<std::string, Key>& taken,
                                        const std::set<pid_t>& live_groups) const {
  if (role != ProcessRole::child) {
    for (int i = 1;; ++i) {
      std::string slot = slot_name(role, i);
      if (!taken.count(slot)) return slot;
    }
  }
  // The lowest slot a child of this group left (its replacement's), else the
  // lowest one no live group is keeping. Past `last` every slot is free.
  const std::size_t last = taken.size() + child_slot_group_.size() + 1;
  std::string fallback;
  for (std::size_t i = 1; i <= last; ++i) {
    std::string slot = slot_name(role, static_cast<int>(i));
    if (taken.count(slot)) continue;
    auto served = child_slot_group_.find(slot);
    if (served == child_slot_group_.end() || !live_groups.count(served->second)) {
      if (fallback.empty()) fallback = slot;
    } else if (served->second == group) {
      return slot;
    }
  }
  return fallback;
}

void WorkerIdentities::assign(std::vector<ProcessView>& processes, std::span<const analysis::WorkerGroupShape> groups) {
  std::map<pid_t, pid_t> group_of;  // member -> the main of its group
  std::set<pid_t> live_groups;      // their mains
  for (const auto& g : groups) {
    live_groups.insert(g.main);
    for (pid_t m : g.members) group_of[m] = g.main;
  }
  // The older process has the better claim to a name.
  std::vector<ProcessView*> order;
  for (auto& p : processes) order.push_back(&p);
  std::stable_sort(order.begin(), order.end(), [](const ProcessView* a, const ProcessView* b) {
    return std::pair(a->facts.start_ticks, a->facts.pid) < std::pair(b->facts.start_ticks, b->facts.pid);
  });
  auto key = [](const ProcessView& p) { return Key{p.facts.pid, p.facts.start_ticks}; };
  auto previous = [&](const ProcessView& p) {
    auto it = names_.find(key(p));
    return it == names_.end() ? std::string() : it->second;
  };

  std::map<std::string, Key> taken;
  std::map<Key, std::string> next;
  auto give = [&](ProcessView& p, std::string name) {
    taken.emplace(name, key(p));
    next[key(p)] = name;
    p.worker = std::move(name);
  };
  auto named = [&](const ProcessView& p) { return next.count(key(p)) > 0; };

  // 1. The agent's name: its holder keeps it; then the oldest claimant takes it.
  for (auto* p : order) {
    std::string name = agent_name(*p);
    if (!name.empty() && previous(*p) == name) give(*p, name);
  }
  for (auto* p : order) {
    std::string name = agent_name(*p);
    if (!named(*p) && !name.empty() && !taken.count(name)) give(*p, name);
  }
  // 2. A slot is kept while the role fits it.
  for (auto* p : order) {
    std::string name = previous(*p);
    if (!named(*p) && is_slot_of(name, p->role) && !taken.count(name)) give(*p, name);
  }
  // 3. The rest get a free slot of their role.
  for (auto* p : order) {
    if (!named(*p)) give(*p, free_slot(p->role, group_of[p->facts.pid], taken, live_groups));
  }

  for (const auto* p : order) {
    if (p->role == ProcessRole::child && is_slot_of(p->worker, ProcessRole::child)) {
      child_slot_group_[p->worker] = group_of[p->facts.pid];
    }
  }
  // Forget the slots of groups that are gone and that no one holds.
  std::erase_if(child_slot_group_, [&](const auto& entry) {
    return !taken.count(entry.first) && !live_groups.count(entry.second);
  });
  names_ = std::move(next);
}

}  // namespace ramflow::model
