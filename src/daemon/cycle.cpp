#include "daemon/cycle.h"

#include "daemon/restore_budget.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

namespace ramflow::daemon {
namespace {

// Each setting's value and where it came from; "default" when it was not set and has its default value.
model::Configuration configuration_of(const config::Config& config) {
  model::Configuration out{config::describe(config), config.sources};
  const auto defaults = config::describe(config::Config{});
  for (const auto& setting : out.settings) {
    if (!out.sources.count(setting.first) &&
        std::find(defaults.begin(), defaults.end(), setting) != defaults.end()) {
      out.sources[setting.first] = "default";
    }
  }
  return out;
}

double unix_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

Cycle::Cycle(const config::Config& config, model::AgentRegistry& agents)
    : config_(config),
      agents_(agents),
      sampler_(config),
      analyzer_(config),
      captures_(config),
      // ramflowd's own memory bounds what reading the state back may take.
      state_(config.state_dir, state_restore_budget("/proc", "/sys/fs/cgroup")),
      configuration_(std::make_shared<model::Configuration>(configuration_of(config))) {}

void Cycle::run_once() {
  auto snap = std::make_shared<model::Snapshot>();
  const model::AgentView agents = agents_.view();

  std::vector<model::ProcessFacts> vanished = sampler_.collect(*snap, agents);
  analyzer_.analyze(*snap, vanished, agents, oom_.largest_victim_bytes());
  snap->ebpf_active = ebpf_active_;
  snap->ebpf_status = ebpf_status_;
  oom_.update(*snap, vanished, agents);
  captures_.update(*snap, agents_.take_capture_reports());
  for (const auto& p : vanished) {
    if (!sampler_.watches(p.pid)) agents_.forget(p.pid);  // the pid was not reused meanwhile
  }
  persist(*snap, /*force=*/false);
  snap->configuration = configuration_;
  publish(std::move(snap));
}

void Cycle::persist(model::Snapshot& snap, bool force) {
  if (!state_.enabled()) return;
  state_.save_if_changed(analyzer_.generation(), [this] { return analyzer_.save_state(); }, oom_.save_state(), snap.time,
                         force, captures_.state_json());
  snap.state_file = state_.status();
}

void Cycle::publish(model::SnapshotPtr snap) {
  std::lock_guard lock(published_mu_);
  if (keep_live_ && !snap->processes.empty()) last_live_ = snap;
  published_ = std::move(snap);
}

model::SnapshotPtr Cycle::latest() const {
  std::lock_guard lock(published_mu_);
  return published_;
}

model::SnapshotPtr Cycle::last_live() const {
  std::lock_guard lock(published_mu_);
  return last_live_ ? last_live_ : published_;
}

void Cycle::set_ebpf_status(bool active, std::string status) {
  ebpf_active_ = active;
  ebpf_status_ = std::move(status);
}

std::optional<std::string> Cycle::cgroup_of(pid_t pid) const {
  auto snap = latest();
  if (!snap) return std::nullopt;
  for (const auto& p : snap->processes) {
    if (p.facts.pid == pid) return p.facts.cgroup;
  }
  return std::nullopt;
}

bool Cycle::is_watched(pid_t pid) const { return cgroup_of(pid).has_value(); }

void Cycle::on_oom_event(const bpf::OomEvent& event) { oom_.add_kill(event, cgroup_of(event.pid).value_or("")); }

void Cycle::restore_state() {
  state_.restore([this](const analysis::AnalysisState& analysis, std::string_view oom_json) {
    std::string error;
    if (model::OomTracker check; !check.restore(oom_json, &error)) throw std::invalid_argument(error);
    // Both parts or neither: the OOM part is checked above, the analyzer's restore is all or nothing.
    analyzer_.restore(analysis, unix_now());
    oom_.restore(oom_json, &error);
  });
  // Captures are restored apart: a part that cannot be read costs only them.
  if (const std::string& captures = state_.restored_captures(); !captures.empty()) {
    std::string error;
    if (!captures_.restore(captures, &error)) spdlog::warn("{}; starting without them", error);
  }
}

void Cycle::flush_state() {
  auto snap = latest();
  if (!state_.enabled() || !snap) return;
  state_.save_if_changed(analyzer_.generation(), [this] { return analyzer_.save_state(); }, oom_.save_state(), snap->time,
                         /*force=*/true, captures_.state_json());
}

}  // namespace ramflow::daemon
