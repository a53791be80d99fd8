#include "daemon/capture_book.h"

#include <algorithm>
#include <cstdio>
#include <set>

#include <spdlog/spdlog.h>

#include "analysis/integrity.h"
#include "analysis/units.h"
#include "ingest/commands.h"
#include "ingest/limits.h"
#include "model/allocation_capture_json.h"

namespace ramflow::daemon {
namespace {

std::string size_text(double bytes) {
  char buf[48];
  if (std::abs(bytes) >= analysis::kMiB) {
    std::snprintf(buf, sizeof buf, "%.1f MiB", bytes / analysis::kMiB);
  } else {
    std::snprintf(buf, sizeof buf, "%.0f KiB", bytes / analysis::kKiB);
  }
  return buf;
}

// "0.3.0" -> {0, 3}; unreadable -> {0, 0}.
std::pair<int, int> major_minor(const std::string& version) {
  int major = 0, minor = 0;
  if (std::sscanf(version.c_str(), "%d.%d", &major, &minor) < 2) return {0, 0};
  return {major, minor};
}

const model::ProcessView* process_of(const model::Snapshot& snap, pid_t pid) {
  for (const auto& p : snap.processes) {
    if (p.facts.pid == pid) return &p;
  }
  return nullptr;
}

}  // namespace

std::string capture_unsupported(const model::AgentFacts& agent) {
  if (!agent.connected) return "its agent is not connected";
  const std::string version = agent.hello ? agent.hello->agent_version : "";
  if (agent.protocol_version < 2 || major_minor(version) < std::pair{0, 3}) {
    return "its agent (ramflow " + (version.empty() ? std::string("?") : version) +
           ") cannot capture allocation sites: upgrade the agent to 0.3 or later";
  }
  return {};
}

CaptureBook::CaptureBook(const config::Config& config) : config_(config) {
  defaults_.tasks = config.capture_tasks;
  defaults_.seconds = std::chrono::duration<double>(config.capture_seconds).count();
}

void CaptureBook::set_sender(Send send) {
  std::lock_guard lock(mu_);
  send_ = std::move(send);
}

std::string CaptureBook::next_id(pid_t pid, double now) {
  return std::to_string(pid) + "-" + std::to_string(static_cast<std::int64_t>(now)) + "-" + std::to_string(++sequence_);
}

model::AllocationCapture* CaptureBook::by_id(const std::string& id) {
  for (auto& c : book_) {
    if (c.id == id) return &c;
  }
  return nullptr;
}

std::optional<std::string> CaptureBook::start(model::AllocationCapture capture) {
  if (!send_) return "the agent socket is not running";
  ingest::CaptureCommand command{capture.id, std::string(analysis::to_string(capture.reason)), capture.tasks_wanted,
                                 capture.seconds_wanted, capture.frames, kTopSites};
  if (!send_(capture.pid, ingest::encode(command))) {
    return "pid " + std::to_string(capture.pid) + " has no agent connection to send the capture on";
  }
  spdlog::info("allocation-site capture {} asked of pid {} ({}): {} tasks or {:.0f} s — {}", capture.id, capture.pid,
               analysis::to_string(capture.reason), capture.tasks_wanted, capture.seconds_wanted, capture.reason_text);
  book_.push_back(std::move(capture));
  ++generation_;
  bound();
  return std::nullopt;
}

std::variant<model::AllocationCapture, std::string> CaptureBook::request(const Request& r,
                                                                         const model::Snapshot* latest, double now) {
  const std::string pid = std::to_string(r.pid);
  if (r.tasks && (*r.tasks < 1 || *r.tasks > ingest::kMaxCaptureTasks)) return std::string("--tasks must be 1 to 100000");
  if (r.seconds && !(*r.seconds >= 1 && *r.seconds <= ingest::kMaxCaptureSeconds)) {
    return std::string("--seconds must be 1 to 3600");
  }
  const model::ProcessView* p = latest ? process_of(*latest, r.pid) : nullptr;
  if (!p) return "pid " + pid + " is not a worker this ramflowd watches — see the pids in /api/v1/report";
  if (!p->agent) return "pid " + pid + " has no ramflow agent: load it (docs/agent.md) to capture allocation sites";
  if (auto why = capture_unsupported(*p->agent); !why.empty()) return "pid " + pid + ": " + why;
  model::AllocationCapture c;
  c.pid = r.pid;
  c.start_ticks = p->facts.start_ticks;
  c.worker = p->worker;
  c.reason = analysis::CaptureReason::on_demand;
  c.reason_text = "asked with ramflowd capture";
  c.requested_at = now;
  // One bound given: the other stops waiting for it (tasks), or a long wait stays bounded (seconds).
  c.tasks_wanted = r.tasks.value_or(r.seconds ? ingest::kMaxCaptureTasks : defaults_.tasks);
  c.seconds_wanted = r.seconds.value_or(r.tasks ? std::max(600.0, defaults_.seconds) : defaults_.seconds);
  c.frames = static_cast<std::uint32_t>(config_.capture_frames);
  c.concurrent = p->analysis.approximate;
  std::lock_guard lock(mu_);
  for (const auto& other : book_) {
    if (other.pid == r.pid && !model::finished(other.status)) {
      return "capture " + other.id + " of pid " + pid + " is still " + std::string(model::to_string(other.status)) +
             "; wait for it (ramflowd report shows it)";
    }
  }
  c.id = next_id(r.pid, now);
  if (auto error = start(c)) return *error;
  return c;
}

std::optional<model::AllocationCapture> CaptureBook::find(const std::string& id) const {
  std::lock_guard lock(mu_);
  for (const auto& c : book_) {
    if (c.id == id) return c;
  }
  return std::nullopt;
}

void CaptureBook::merge(model::AllocationCapture report, const model::Snapshot& snap) {
  model::AllocationCapture* known = by_id(report.id);
  if (known && known->pid != report.pid) known = nullptr;  // another process's id: not ours to change
  if (!known) {
    // Asked by a ramflowd that restarted since (the agent re-sends on reconnect).
    const model::ProcessView* p = process_of(snap, report.pid);
    report.start_ticks = p ? p->facts.start_ticks : 0;
    report.worker = p ? p->worker : "";
    report.concurrent = p && p->analysis.approximate;
    report.requested_at = report.started;
    report.reason_text = "asked before ramflowd restarted";
    if (report.frames == 0) report.frames = static_cast<std::uint32_t>(config_.capture_frames);
    book_.push_back(std::move(report));
    ++generation_;
    return;
  }
  if (model::finished(known->status) && !model::finished(report.status)) return;  // a stale "running"
  if (model::finished(known->status) && known->status == report.status) return;  // re-sent on reconnect
  if (report.status == model::CaptureStatus::done || report.status == model::CaptureStatus::failed) {
    spdlog::info("allocation-site capture {} of pid {}: {}{}{}", report.id, report.pid, model::to_string(report.status),
                 report.sites.empty() ? "" : ", top site ",
                 report.sites.empty() ? report.error
                                      : report.sites[0].frames[report.sites[0].site].file + ":" +
                                            std::to_string(report.sites[0].frames[report.sites[0].site].line));
  }
  // The agent's account of the window replaces ours; what ramflowd knew of the request stays.
  report.start_ticks = known->start_ticks;
  report.worker = known->worker;
  report.reason = known->reason;
  report.reason_text = known->reason_text;
  report.requested_at = known->requested_at;
  report.concurrent = known->concurrent;
  report.oom_killed_at = known->oom_killed_at;
  *known = std::move(report);
  ++generation_;
}

void CaptureBook::expire(const model::Snapshot& snap) {
  for (auto& c : book_) {
    if (model::finished(c.status)) continue;
    const model::ProcessView* p = process_of(snap, c.pid);
    std::string why;
    if (!p || (c.start_ticks && p->facts.start_ticks != c.start_ticks)) {
      why = "the process ended before its window did";
    } else if (c.status == model::CaptureStatus::requested && snap.time - c.requested_at > kAnswerSeconds) {
      why = "no answer from the agent within " + std::to_string(static_cast<int>(kAnswerSeconds)) +
            " s: its connection was down, or it is older than 0.3";
    } else if (c.status == model::CaptureStatus::running &&
               snap.time - c.started > std::max(2 * c.seconds_wanted, c.seconds_wanted + 5) + kLateSeconds) {
      why = "the window never reported its end";
    }
    if (why.empty()) continue;
    c.status = model::CaptureStatus::lost;
    c.error = why;
    c.ended = snap.time;
    ++generation_;
    spdlog::info("allocation-site capture {} of pid {} lost: {}", c.id, c.pid, why);
  }
}

void CaptureBook::trigger(const model::Snapshot& snap) {
  if (!config_.capture_auto || !send_) return;
  const double every = std::chrono::duration<double>(config_.capture_every).count();
  std::set<pid_t> busy;
  for (const auto& c : book_) {
    if (!model::finished(c.status)) busy.insert(c.pid);
  }
  std::erase_if(last_automatic_, [&](const auto& e) { return snap.time - e.second >= every; });
  auto eligible = [&](const model::ProcessView& p, analysis::CaptureReason reason) {
    if (!p.agent || !capture_unsupported(*p.agent).empty() || busy.count(p.facts.pid)) return false;
    auto last = last_automatic_.find({p.facts.pid, p.facts.start_ticks, reason});
    return analysis::capture_due(last == last_automatic_.end() ? std::nullopt : std::optional<double>(last->second),
                                 snap.time, every);
  };
  auto launch = [&](const model::ProcessView& p, analysis::CaptureReason reason, analysis::CaptureWindow window,
                    std::string text) {
    model::AllocationCapture c;
    c.id = next_id(p.facts.pid, snap.time);
    c.pid = p.facts.pid;
    c.start_ticks = p.facts.start_ticks;
    c.worker = p.worker;
    c.reason = reason;
    c.reason_text = std::move(text);
    c.requested_at = snap.time;
    c.tasks_wanted = window.tasks;
    c.seconds_wanted = window.seconds;
    c.frames = static_cast<std::uint32_t>(config_.capture_frames);
    c.concurrent = p.analysis.approximate;
    // Counted as done even when the send fails: a process whose agent cannot
    // take it now is not asked again every second.
    last_automatic_[{p.facts.pid, p.facts.start_ticks, reason}] = snap.time;
    busy.insert(p.facts.pid);
    ++generation_;
    if (auto error = start(std::move(c))) spdlog::warn("automatic allocation-site capture of pid {}: {}", p.facts.pid, *error);
  };

  for (const auto& p : snap.processes) {
    const auto& leak = p.analysis.leak;
    if (!leak.evaluated || leak.level != analysis::LeakLevel::high || !eligible(p, analysis::CaptureReason::leak_high)) {
      continue;
    }
    const bool per_task = p.analysis.leak_series == "residual";
    launch(p, analysis::CaptureReason::leak_high, analysis::leak_window(leak, per_task, defaults_),
           "leak level high: +" + size_text(leak.rate_per_x) + (per_task ? " per task" : " per second") + " over " +
               std::to_string(leak.samples) + (per_task ? " tasks" : " buckets"));
  }
  const double within = std::chrono::duration<double>(config_.capture_oom_within).count();
  for (const auto& c : snap.cgroups) {
    const auto& a = c.analysis;
    if (!c.facts.has_reading || a.margins.nonreclaimable >= config_.oom_risk_margin || !a.time_to_oom ||
        a.time_to_oom->seconds >= within) {
      continue;
    }
    // The process that grows fastest in it, the likeliest victim and cause:
    // captured once; the others are not asked in its place.
    const model::ProcessView* fastest = nullptr;
    for (const auto& p : snap.processes) {
      if (p.facts.cgroup != c.facts.path || !p.agent || !capture_unsupported(*p.agent).empty()) continue;
      if (!fastest || p.analysis.allocation_bytes_per_second > fastest->analysis.allocation_bytes_per_second) fastest = &p;
    }
    if (!fastest || !eligible(*fastest, analysis::CaptureReason::oom_near)) continue;
    char text[160];
    std::snprintf(text, sizeof text, "OOM near: non-reclaimable margin %.1f %% (under %.1f %%), time to OOM %.0f s; "
                  "the fastest-growing process (%s/s)", a.margins.nonreclaimable * 100, config_.oom_risk_margin * 100,
                  a.time_to_oom->seconds, size_text(fastest->analysis.allocation_bytes_per_second).c_str());
    launch(*fastest, analysis::CaptureReason::oom_near, analysis::oom_window(a.time_to_oom->seconds, defaults_), text);
  }
}

void CaptureBook::link_oom_kills(model::Snapshot& snap) {
  for (auto& kill : snap.oom_kills) {
    if (kill.pid == 0) continue;
    model::AllocationCapture* latest = nullptr;
    for (auto& c : book_) {
      if (c.pid == kill.pid && c.requested_at <= kill.time && (!latest || c.requested_at > latest->requested_at)) latest = &c;
    }
    if (!latest) continue;
    kill.capture_id = latest->id;
    if (!latest->oom_killed_at) {
      latest->oom_killed_at = kill.time;
      ++generation_;
    }
  }
}

// A process's newest capture that measured growth says what holds its memory
// better than the block estimate (analysis::measured_bloat).
void CaptureBook::attribute_bloat(model::Snapshot& snap) const {
  auto measure = [this](pid_t pid, std::uint64_t start_ticks, analysis::BloatAttribution& bloat) {
    for (auto c = book_.rbegin(); c != book_.rend(); ++c) {
      if (c->pid != pid || c->start_ticks != start_ticks) continue;
      if (auto split = model::growth_split(*c)) {
        bloat = analysis::measured_bloat(*split, c->id, bloat);
        return;
      }
    }
  };
  for (auto& p : snap.processes) measure(p.facts.pid, p.facts.start_ticks, p.analysis.bloat);
  for (auto& cg : snap.cgroups) {
    for (auto& e : cg.analysis.exited) measure(e.pid, e.start_ticks, e.analysis.bloat);
  }
}

// The oldest finished captures go first; running ones only past twice the bound.
void CaptureBook::bound() {
  while (book_.size() > kKept) {
    auto oldest = std::find_if(book_.begin(), book_.end(), [](const auto& c) { return model::finished(c.status); });
    if (oldest == book_.end() && book_.size() <= 2 * kKept) return;
    book_.erase(oldest == book_.end() ? book_.begin() : oldest);
    ++generation_;
  }
}

void CaptureBook::update(model::Snapshot& snap, std::vector<model::AllocationCapture> reports) {
  std::lock_guard lock(mu_);
  for (auto& r : reports) merge(std::move(r), snap);
  expire(snap);
  trigger(snap);
  link_oom_kills(snap);
  bound();
  attribute_bloat(snap);
  if (published_generation_ != generation_ || !published_) {
    published_ = std::make_shared<const std::vector<model::AllocationCapture>>(book_.rbegin(), book_.rend());
    published_generation_ = generation_;
  }
  snap.captures = published_;
}

const std::string& CaptureBook::state_json() {
  std::lock_guard lock(mu_);
  if (state_generation_ != generation_) {
    state_json_ = model::captures_to_json(book_, last_automatic_);
    state_generation_ = generation_;
  }
  return state_json_;
}

bool CaptureBook::restore(std::string_view json, std::string* error) {
  std::deque<model::AllocationCapture> book;
  model::LastAutomatic last;
  if (!model::captures_from_json(json, kKept * 2, book, last, error)) return false;
  std::lock_guard lock(mu_);
  book_ = std::move(book);
  last_automatic_ = std::move(last);
  ++generation_;
  return true;
}

}  // namespace ramflow::daemon
