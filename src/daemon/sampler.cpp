#include "daemon/sampler.h"

#include <unistd.h>

#include <chrono>

#include <spdlog/spdlog.h>

#include "daemon/agent_sink.h"
#include "probe/cgroup.h"
#include "probe/discovery.h"
#include "probe/meminfo.h"
#include "probe/proc_stat.h"
#include "probe/proc_status.h"
#include "probe/psi.h"
#include "probe/self_usage.h"
#include "probe/smaps_rollup.h"

namespace ramflow::daemon {
namespace {

using Clock = std::chrono::steady_clock;

double unix_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// Times a probe call into ProbeHealth under `source`.
template <class F>
auto timed(ProbeHealth& health, const std::string& source, F&& f) {
  auto t0 = Clock::now();
  auto result = f();
  health.duration(source, seconds_since(t0));
  return result;
}

constexpr double kCgroupKeepSeconds = 600;
constexpr double kAgentRecentSeconds = 60;
constexpr double kCgroupRecheckSeconds = 10;
// Past this many watched processes, status files are opened per read: the fds
// stay well inside the default RLIMIT_NOFILE of 1024.
constexpr std::size_t kMaxOpenStatusFiles = 256;

}  // namespace

Sampler::Sampler(const config::Config& config)
    : config_(config),
      scanner_(config.proc_root, std::regex(config.process_match), config.max_processes,
               probe::self_pid(config.proc_root).value_or(-1)),
      version_(probe::detect_cgroup_version(config.cgroup_root)),
      processes_(),
      cgroups_() {
  auto uptime = probe::read_uptime_seconds(config_.proc_root);
  boot_time_ = uptime ? unix_now() - uptime.value() : 0;
  if (version_ == probe::CgroupVersion::kNone) {
    spdlog::info("no memory cgroup under {}: limits fall back to the host's MemTotal "
                 "(set --cgroup-root if cgroups are mounted elsewhere)",
                 config_.cgroup_root);
  }
}

std::vector<model::Candidate> Sampler::candidates(const model::AgentView& agents) {
  probe::DiscoveryResult found;
  if (!agent_only_) {
    found = timed(health_, "discovery", [&] {
      return scanner_.scan();
    });
  }
  for (const auto& e : found.errors) health_.error("discovery", e);
  if (found.matched_total > config_.max_processes) {
    static bool warned = false;
    if (!warned) {
      spdlog::warn("{} processes match --process-match, watching the first {}: raise --max-processes "
                   "or narrow the regex",
                   found.matched_total, config_.max_processes);
      warned = true;
    }
  }
  std::vector<model::Candidate> out;
  // In `serve`, --process-match alone decides: a process it leaves out is not
  // watched, agent or not (a task producer in the pod). Under `run` the agents
  // are the selector: the command's own processes (docs/agent.md).
  if (!agent_only_) {
    for (auto& p : found.processes) out.push_back({std::move(p), false});
    return out;
  }
  for (const auto& [pid, facts] : agents.processes) {
    if (!facts.connected || out.size() >= config_.max_processes) continue;
    auto stat = probe::read_proc_stat(config_.proc_root, pid);
    if (!stat) continue;
    probe::DiscoveredProcess p;
    p.pid = pid;
    p.ppid = stat.value().ppid;
    p.start_time_ticks = stat.value().start_time_ticks;
    p.comm = stat.value().comm;
    if (auto cmd = probe::read_cmdline(config_.proc_root, pid)) p.cmdline = cmd.value();
    out.push_back({std::move(p), true});
  }
  return out;
}

std::string Sampler::resolve_cgroup(pid_t pid) {
  if (!config_.cgroup_path.empty()) {
    note_location(probe::pinned_cgroup(config_.cgroup_root, version_, config_.cgroup_path));
    return config_.cgroup_path;
  }
  if (version_ == probe::CgroupVersion::kNone) return {};
  auto path = timed(health_, "cgroup", [&] { return probe::read_memory_cgroup_path(config_.proc_root, pid, version_); });
  if (!path) {
    if (path.error().kind != probe::ErrorKind::kNotFound) health_.error("cgroup", path.error());
    return {};
  }
  // A cgroup path names one cgroup: its route is found (and checked) once, and
  // looked for again while it has none.
  auto known = locations_.find(path.value());
  if (known != locations_.end() && known->second.route != probe::CgroupRoute::kUnreachable) return path.value();
  auto location = timed(health_, "cgroup", [&] {
    return probe::locate_memory_cgroup(config_.proc_root, config_.cgroup_root, version_, pid);
  });
  if (!location) {
    if (location.error().kind != probe::ErrorKind::kNotFound) health_.error("cgroup", location.error());
    return {};
  }
  std::string found = location.value().path;
  note_location(std::move(location).value());
  return found;
}

// Logs the route of a cgroup when it is first found or changes; an unreachable
// one once (its details name whichever worker pid was tried).
void Sampler::note_location(probe::CgroupLocation location) {
  auto& known = locations_[location.path];
  const bool logged = known.route == location.route &&
                      (location.route == probe::CgroupRoute::kUnreachable ? !known.missing.empty() : known.dir == location.dir);
  if (logged) {
    known = std::move(location);
    return;
  }
  if (location.route == probe::CgroupRoute::kUnreachable) {
    spdlog::warn("worker cgroup {} cannot be read: {} — {}. Pod-level figures (limit, working set, margins, peak, "
                 "time to OOM, recommendations) are left out; per-process figures continue",
                 location.path, location.missing, location.remedy);
  } else {
    const std::string dir = location.route == probe::CgroupRoute::kWorkerMount
                                ? config_.proc_root + "/<worker pid>/root" + location.dir
                                : location.dir;
    spdlog::info("worker cgroup {} is read at {} (route {})", location.path, dir, probe::to_string(location.route));
  }
  known = std::move(location);
}

// The worker route passes through a live process of the cgroup: the first that answers.
probe::Result<probe::CgroupMemory> Sampler::read_located(const probe::CgroupLocation& location,
                                                         const std::vector<pid_t>& users) {
  if (location.route != probe::CgroupRoute::kWorkerMount) return probe::read_cgroup_memory(location.dir, version_);
  probe::ReadError gone{probe::ErrorKind::kNotFound, location.path, "no live process of the cgroup left to reach it through"};
  for (pid_t pid : users) {
    auto reading = probe::read_cgroup_memory(probe::cgroup_dir_for(config_.proc_root, location, pid), version_);
    if (reading || reading.error().kind != probe::ErrorKind::kNotFound) return reading;
  }
  return gone;
}

bool Sampler::is_alive(const model::ProcessFacts& p) const {
  auto stat = probe::read_proc_stat(config_.proc_root, p.pid);
  return stat && stat.value().start_time_ticks == p.start_ticks && stat.value().state != 'Z' &&
         stat.value().state != 'X';
}

probe::Result<probe::ProcStatus> Sampler::read_status(const model::ProcessFacts& p) {
  const auto key = std::pair{p.pid, p.start_ticks};
  auto it = status_files_.find(key);
  if (it == status_files_.end()) {
    if (status_files_.size() >= kMaxOpenStatusFiles) return probe::read_proc_status(config_.proc_root, p.pid);
    auto file = probe::ProcFile::open(config_.proc_root + "/" + std::to_string(p.pid) + "/status");
    if (!file) return file.error();
    it = status_files_.emplace(key, std::move(file).value()).first;
  }
  auto text = it->second.read();
  if (!text) {
    auto error = text.error();
    status_files_.erase(it);
    return error;
  }
  return probe::parse_proc_status(text.value(), it->second.path());
}

void Sampler::close_status_files_of_the_gone() {
  for (auto it = status_files_.begin(); it != status_files_.end();) {
    const model::ProcessFacts* p = processes_.find(it->first.first);
    it = p && p->start_ticks == it->first.second ? std::next(it) : status_files_.erase(it);
  }
}

bool Sampler::read_process(model::ProcessFacts& p, double now) {
  auto status = timed(health_, "status", [&] { return read_status(p); });
  if (!status) {
    if (status.error().kind == probe::ErrorKind::kNotFound) return false;  // exited
    health_.error("status", status.error());  // unreadable: keep the process and its last reading
    return true;
  }
  p.status = status.value();
  std::uint64_t rss = p.status->vm_rss;
  if (p.start_time == 0 && boot_time_ > 0) {
    p.start_time = boot_time_ + static_cast<double>(p.start_ticks) / probe::clock_ticks_per_second();
  }
  if (p.timeline.empty() && p.start_time > 0 && now - p.start_time <= 1.0) p.early_rss = rss;
  p.max_sampled_rss = std::max(p.max_sampled_rss, rss);
  p.timeline.push({now, rss});
  // A process rarely changes cgroup (a restarted container is a new process):
  // re-read /proc/PID/cgroup on first sight and then every kCgroupRecheckSeconds,
  // and at once after an exec (a shell that moved itself into a cgroup, then exec'd
  // the worker, was first seen in its old cgroup).
  const bool execed = !p.status->name.empty() && !p.comm.empty() && p.status->name != p.comm;
  if (execed) p.comm = p.status->name;
  if (execed || p.cgroup.empty() || now - p.cgroup_resolved >= kCgroupRecheckSeconds) {
    p.cgroup = resolve_cgroup(p.pid);
    p.cgroup_resolved = now;
  }

  double smaps_every = std::chrono::duration<double>(config_.smaps_interval).count();
  if (p.smaps_time != 0 && now - p.smaps_time < smaps_every) return true;
  p.smaps_time = now;
  if (rss > config_.smaps_max_rss) {
    p.smaps.reset();
    p.smaps_skipped = "RSS above --smaps-max-rss: reading smaps_rollup would stall the process";
    return true;
  }
  auto smaps = timed(health_, "smaps_rollup", [&] { return probe::read_smaps_rollup(config_.proc_root, p.pid); });
  if (!smaps) {
    if (smaps.error().kind == probe::ErrorKind::kNotFound) return false;
    health_.error("smaps_rollup", smaps.error());
    p.smaps.reset();
    p.smaps_skipped = smaps.error().message();
    return true;
  }
  p.smaps = smaps.value();
  p.smaps_skipped.clear();
  p.smaps_history.push({now, p.smaps->pss, p.smaps->uss(), p.smaps->rss});
  return true;
}

void Sampler::read_cgroups(model::Snapshot& snap, double now) {
  std::map<std::string, std::vector<pid_t>> in_use;  // path → its live watched processes, lowest pid first
  for (const auto& [pid, p] : processes_.processes()) {
    if (!p.cgroup.empty()) in_use[p.cgroup].push_back(pid);
  }
  if (in_use.empty() && !config_.cgroup_path.empty()) {
    in_use.emplace(config_.cgroup_path, std::vector<pid_t>{});
    note_location(probe::pinned_cgroup(config_.cgroup_root, version_, config_.cgroup_path));
  }
  for (const auto& [path, pids] : in_use) cgroups_.get(path).last_used = now;

  for (auto& [path, facts] : cgroups_.cgroups()) {
    auto users = in_use.find(path);
    if (facts.vanished && users == in_use.end()) continue;
    auto location = locations_.find(path);
    if (location == locations_.end() || location->second.route == probe::CgroupRoute::kUnreachable) continue;
    auto reading = timed(health_, "cgroup", [&] {
      return read_located(location->second, users == in_use.end() ? std::vector<pid_t>{} : users->second);
    });
    if (!reading) {
      if (reading.error().kind != probe::ErrorKind::kNotFound) {
        health_.error("cgroup", reading.error());
      } else if (!facts.vanished) {
        spdlog::info("cgroup {} vanished; keeping its last counters", path);
        cgroups_.mark_vanished(path, now);
      }
      continue;
    }
    for (const auto& e : reading.value().optional_errors) health_.error("cgroup", e);
    cgroups_.record(path, reading.value(), now);
    check_declared_limit(reading.value());
  }
  cgroups_.expire(now, kCgroupKeepSeconds);
  std::erase_if(locations_, [&](const auto& entry) {
    return !cgroups_.cgroups().count(entry.first) && !in_use.count(entry.first);
  });

  for (const auto& [path, facts] : cgroups_.cgroups()) {
    auto location = locations_.find(path);
    // Never read, and unreachable while a worker lives in it: published without
    // figures, with what is missing and what would give it.
    const bool unreachable = location != locations_.end() && location->second.route == probe::CgroupRoute::kUnreachable;
    if (!facts.has_reading && !(unreachable && in_use.count(path))) continue;
    model::CgroupView view;
    view.facts = facts;
    view.location = location != locations_.end() ? location->second : probe::CgroupLocation{};
    view.declared_limit = config_.memory_limit;
    if (facts.last.pressure) {
      view.pressure = facts.last.pressure;
      view.pressure_scope = "cgroup";
    } else if (snap.host_pressure) {
      view.pressure = snap.host_pressure;
      view.pressure_scope = "host";
    }
    if (facts.has_reading) {
      if (facts.last.limit && (!snap.host_memory || *facts.last.limit < snap.host_memory->mem_total)) {
        view.limit = {*facts.last.limit, "cgroup"};
      } else if (snap.host_memory) {
        view.limit = {snap.host_memory->mem_total, "host"};
      }
      view.peak = facts.last.peak.value_or(facts.highest_working_set);
    }
    snap.cgroups.push_back(std::move(view));
  }
}

// RAMFLOW_MEMORY_LIMIT_BYTES (the Downward API) says what the worker was given;
// the cgroup says what the kernel enforces. They disagree when the runtime
// resolved the wrong container (podman 4.3 ignores resourceFieldRef.containerName).
void Sampler::check_declared_limit(const probe::CgroupMemory& reading) {
  if (!config_.memory_limit || limit_mismatch_logged_ || reading.limit == config_.memory_limit) return;
  spdlog::warn("RAMFLOW_MEMORY_LIMIT_BYTES is {} but the worker cgroup's limit is {}: the cgroup's is used "
               "(the Downward API named another container, or the limit changed)",
               *config_.memory_limit, reading.limit ? std::to_string(*reading.limit) : std::string("unlimited"));
  limit_mismatch_logged_ = true;
}

std::vector<model::ProcessFacts> Sampler::collect(model::Snapshot& snap, const model::AgentView& agents) {
  health_.begin_cycle();
  double now = unix_now();
  snap.time = now;
  snap.cycle = ++cycles_;
  snap.cgroup_version = version_;

  auto meminfo = timed(health_, "meminfo", [&] { return probe::read_meminfo(config_.proc_root); });
  if (meminfo) snap.host_memory = meminfo.value();
  else health_.error("meminfo", meminfo.error());
  auto psi = timed(health_, "psi", [&] { return probe::read_psi(config_.proc_root + "/pressure/memory"); });
  if (psi) snap.host_pressure = psi.value();
  else if (psi.error().kind != probe::ErrorKind::kNotFound) health_.error("psi", psi.error());

  auto vanished = processes_.reconcile(candidates(agents), now);
  // Out of the watched set is not dead: a process pushed past --max-processes
  // lives on, keeps its agent's facts and is no OOM victim.
  std::erase_if(vanished, [this](const model::ProcessFacts& p) { return is_alive(p); });
  // A process that exited mid-cycle is dropped now, not one interval later.
  for (auto it = processes_.processes().begin(); it != processes_.processes().end();) {
    if (!read_process(it->second, now)) {
      vanished.push_back(std::move(it->second));
      it = processes_.processes().erase(it);
    } else {
      ++it;
    }
  }
  close_status_files_of_the_gone();
  read_cgroups(snap, now);

  for (const auto& [pid, p] : processes_.processes()) {
    model::ProcessView view;
    view.facts = p;
    auto a = agents.processes.find(pid);
    if (a != agents.processes.end()) {
      view.agent = a->second;
      if (a->second.hello) view.worker = a->second.hello->worker;
    }
    snap.processes.push_back(std::move(view));
  }
  for (const auto& [pid, a] : agents.processes) {
    if (a.connected && now - a.last_heard <= kAgentRecentSeconds) ++snap.agent_connected_processes;
  }
  snap.functions = agents.functions;
  snap.agent_counters = agents.counters;
  add_known_labels(snap.agent_counters);

  auto self = probe::read_self_usage("/proc");  // ramflowd itself, never the fixture root
  if (self) snap.self_usage = self.value();
  snap.probe_errors = health_.errors();
  snap.probe_durations = health_.durations();
  return vanished;
}

}  // namespace ramflow::daemon
