#include "model/oom_tracker.h"

#include <algorithm>
#include <nlohmann/json.hpp>

namespace ramflow::model {
namespace {

constexpr const char* kUnknown = "unknown";
// A counter that jumps further in one interval is a glitch or another cgroup,
// not real kills; the cap keeps memory bounded.
constexpr uint64_t kMaxKillsPerInterval = 256;

bool same_process(const OomKillEvent& kill, const VanishedWorker& w) {
  if (kill.pid != w.pid) return false;
  // Start times tell a recycled pid apart; one tick of slack for rounding.
  if (kill.start_time == 0 || w.start_time == 0) return true;
  const uint64_t diff = kill.start_time > w.start_time ? kill.start_time - w.start_time : w.start_time - kill.start_time;
  return diff <= 1;
}

}  // namespace

OomTracker::OomTracker(OomTrackerConfig config) : config_(config) {
  config_.match_intervals = std::max(config_.match_intervals, 1);
}

std::string OomTracker::task_label(const std::string& task) const {
  if (task.empty()) return kUnknown;
  if (task.size() <= config_.task_label_max) return task;
  size_t cut = config_.task_label_max;
  // Back off continuation bytes (10xxxxxx) so no UTF-8 sequence is split.
  while (cut > 0 && (static_cast<unsigned char>(task[cut]) & 0xC0) == 0x80) --cut;
  return task.substr(0, cut);
}

OomRecord OomTracker::from_worker(const VanishedWorker& w, double time, std::string source) const {
  OomRecord r;
  r.time = time;
  r.pid = w.pid;
  r.comm = w.comm;
  r.cgroup = w.cgroup;
  r.task = task_label(w.task);
  r.source = std::move(source);
  r.rss_at_death = w.last_rss;
  r.last_residual = w.last_residual;
  r.leak_level = w.leak_level.empty() ? kUnknown : w.leak_level;
  return r;
}

std::vector<OomRecord> OomTracker::update(const OomInterval& in) {
  ++tick_;
  for (const auto& w : in.vanished) workers_.push_back({w, tick_});
  for (const auto& k : in.kills) kills_.push_back({k, tick_, std::nullopt});
  read_counters(in);
  match_kills_to_workers();
  claim_counter_rises();

  std::vector<OomRecord> out;
  emit_kills(out);
  infer_unexplained(in, out);
  expire();

  std::sort(out.begin(), out.end(), [](const OomRecord& a, const OomRecord& b) { return a.time < b.time; });
  for (const auto& r : out) {
    history_.push_back(r);
    if (history_.size() > config_.history_size) history_.pop_front();
  }
  return out;
}

void OomTracker::read_counters(const OomInterval& in) {
  const long window = config_.match_intervals;
  for (const auto& c : in.counters) {
    uint64_t rise = 0;
    auto last = last_counter_.find(c.cgroup);
    // A first reading is a baseline; a lower one is a new cgroup under the same label.
    if (last != last_counter_.end() && c.oom_kill > last->second) {
      rise = std::min(c.oom_kill - last->second, kMaxKillsPerInterval);
    }
    auto& rises = recent_rises_[c.cgroup];
    if (rise > 0) rises.push_back({tick_, rise});
    for (uint64_t i = 0; i < rise; ++i) unexplained_.push_back({c.cgroup, in.time, tick_});

    if (!c.vanished) {
      last_counter_[c.cgroup] = c.oom_kill;
      continue;
    }
    // Only the first report of a vanished cgroup counts (callers may repeat it).
    if (last == last_counter_.end()) continue;
    // The cgroup vanished (memory.oom.group kills the whole container): its final
    // counter cannot be read, so each worker that vanished with it counts as a kill
    // beyond the rises already seen.
    uint64_t seen = 0;
    for (const auto& r : rises) {
      if (age(r.tick) < window) seen += r.count;
    }
    uint64_t with_it = 0;
    for (const auto& w : workers_) {
      if (w.worker.cgroup == c.cgroup && age(w.tick) < window) ++with_it;
    }
    for (uint64_t i = seen; i < std::min(with_it, kMaxKillsPerInterval); ++i) unexplained_.push_back({c.cgroup, in.time, tick_});
    last_counter_.erase(c.cgroup);
  }
}

void OomTracker::match_kills_to_workers() {
  for (auto& k : kills_) {
    if (k.worker) continue;
    for (auto& w : workers_) {
      if (w.consumed || !same_process(k.event, w.worker)) continue;
      w.consumed = true;
      k.worker = w.worker;
      if (k.event.cgroup.empty()) k.event.cgroup = w.worker.cgroup;
      break;
    }
  }
}

void OomTracker::claim_counter_rises() {
  for (auto& k : kills_) {
    if (k.claimed) continue;
    // A kill whose cgroup is unknown pairs with the oldest rise anywhere.
    auto unit = std::find_if(unexplained_.begin(), unexplained_.end(), [&](const UnexplainedKill& u) {
      return k.event.cgroup.empty() || u.cgroup == k.event.cgroup;
    });
    if (unit == unexplained_.end()) continue;
    unexplained_.erase(unit);
    k.claimed = true;
  }
}

void OomTracker::emit_kills(std::vector<OomRecord>& out) {
  for (auto& k : kills_) {
    if (k.emitted) continue;
    // Wait for the worker's record (task, residual) unless it is too late to come.
    if (!k.worker && age(k.tick) + 1 < config_.match_intervals) continue;
    OomRecord r;
    if (k.worker) {
      r = from_worker(*k.worker, k.event.time, "ebpf");
    } else {
      r.time = k.event.time;
      r.pid = k.event.pid;
      r.task = kUnknown;
      r.source = "ebpf";
      r.leak_level = kUnknown;
    }
    r.comm = k.event.comm;
    r.cgroup = k.event.cgroup;
    r.rss_at_death = k.event.rss_bytes;  // the kernel's count beats the last sample
    out.push_back(std::move(r));
    k.emitted = true;
  }
}

void OomTracker::infer_unexplained(const OomInterval& in, std::vector<OomRecord>& out) {
  std::deque<UnexplainedKill> waiting;
  while (!unexplained_.empty()) {
    UnexplainedKill u = unexplained_.front();
    unexplained_.pop_front();
    const bool last_chance = age(u.tick) + 1 >= config_.match_intervals;
    // With eBPF on, give its event the whole window to claim this rise.
    if (in.ebpf_active && !last_chance) {
      waiting.push_back(u);
      continue;
    }
    // Several candidates: the kernel kills the biggest, so take the highest last RSS.
    PendingWorker* best = nullptr;
    for (auto& w : workers_) {
      if (w.consumed || w.worker.cgroup != u.cgroup) continue;
      if (!best || w.worker.last_rss > best->worker.last_rss) best = &w;
    }
    if (best) {
      best->consumed = true;
      out.push_back(from_worker(best->worker, u.time, "inferred"));
    } else if (!last_chance) {
      waiting.push_back(u);  // the worker may be reaped in a later interval
    } else {
      OomRecord r;
      r.time = u.time;
      r.cgroup = u.cgroup;
      r.task = kUnknown;
      r.source = "inferred";
      r.leak_level = kUnknown;
      out.push_back(std::move(r));
    }
  }
  unexplained_ = std::move(waiting);
}

void OomTracker::expire() {
  // A worker may be claimed by a rise that itself waited a whole window.
  const long keep = 2L * config_.match_intervals;
  std::erase_if(workers_, [&](const PendingWorker& w) { return age(w.tick) + 1 >= keep; });
  std::erase_if(kills_, [&](const PendingKill& k) { return k.emitted && (k.claimed || age(k.tick) + 1 >= keep); });
  for (auto it = recent_rises_.begin(); it != recent_rises_.end();) {
    auto& rises = it->second;
    while (!rises.empty() && age(rises.front().tick) + 1 >= keep) rises.pop_front();
    it = rises.empty() ? recent_rises_.erase(it) : std::next(it);
  }
}

}  // namespace ramflow::model
