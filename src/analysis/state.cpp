#include "analysis/state.h"

#include <stdexcept>
#include <nlohmann/json.hpp>

namespace ramflow::analysis {
namespace {

using nlohmann::json;

[[noreturn]] void bad(const std::string& path, const std::string& what) {
  throw std::invalid_argument("ramflow state: " + path + ": " + what + " — delete the state file to start fresh");
}

const json& field(const json& j, const std::string& path, const char* key) {
  if (!j.is_object()) bad(path, "not an object");
  const auto it = j.find(key);
  if (it == j.end()) bad(path + "." + key, "missing");
  return *it;
}

double number(const json& j, const std::string& path, const char* key) {
  const auto& v = field(j, path, key);
  if (!v.is_number()) bad(path + "." + key, "not a number");
  return v.get<double>();
}

int integer(const json& j, const std::string& path, const char* key) {
  const auto& v = field(j, path, key);
  if (!v.is_number_integer()) bad(path + "." + key, "not an integer");
  return v.get<int>();
}

const json& array(const json& j, const std::string& path, const char* key, size_t max) {
  const auto& v = field(j, path, key);
  if (!v.is_array()) bad(path + "." + key, "not an array");
  if (v.size() > max) bad(path + "." + key, "more than " + std::to_string(max) + " entries");
  return v;
}

json optional_number(const std::optional<double>& v) { return v ? json(*v) : json(nullptr); }

std::optional<double> optional_number_from(const json& j, const std::string& path, const char* key) {
  if (field(j, path, key).is_null()) return std::nullopt;
  return number(j, path, key);
}

json point_to_json(const BucketPoint& p) { return {{"start_s", p.start_s}, {"bytes", p.bytes}}; }

BucketPoint point_from(const json& j, const std::string& path) {
  return {number(j, path, "start_s"), number(j, path, "bytes")};
}

json series_to_json(const BucketSeriesState& s) {
  json closed = json::array();
  for (const auto& p : s.closed) closed.push_back(point_to_json(p));
  return {{"open", s.open ? point_to_json(*s.open) : json(nullptr)}, {"closed", closed}};
}

BucketSeriesState series_from(const json& j, const std::string& path) {
  BucketSeriesState s;
  if (!field(j, path, "open").is_null()) s.open = point_from(j["open"], path + ".open");
  const auto& closed = array(j, path, "closed", kMaxStateSeriesPoints);
  for (size_t i = 0; i < closed.size(); ++i) s.closed.push_back(point_from(closed[i], path + ".closed[" + std::to_string(i) + "]"));
  return s;
}

json leak_to_json(const LeakDetectorState& s) {
  json window = json::array();
  for (const auto& x : s.window) window.push_back({{"x", x.x}, {"time_s", x.time_s}, {"bytes", x.bytes}});
  return {{"window", window}, {"level", to_string(s.level)}, {"failed_high", s.failed_high}, {"failed_medium", s.failed_medium}};
}

LeakDetectorState leak_from(const json& j, const std::string& path) {
  LeakDetectorState s;
  const auto& window = array(j, path, "window", kMaxStateSeriesPoints);
  for (size_t i = 0; i < window.size(); ++i) {
    const std::string p = path + ".window[" + std::to_string(i) + "]";
    s.window.push_back({number(window[i], p, "x"), number(window[i], p, "time_s"), number(window[i], p, "bytes")});
  }
  const auto& level = field(j, path, "level");
  const auto parsed = level.is_string() ? leak_level_from_string(level.get<std::string>()) : std::nullopt;
  if (!parsed) bad(path + ".level", "not one of low, medium, high");
  s.level = *parsed;
  s.failed_high = integer(j, path, "failed_high");
  s.failed_medium = integer(j, path, "failed_medium");
  return s;
}

json baseline_to_json(const ProcessMemory& m) {
  return {{"bootstrap_bytes", optional_number(m.bootstrap_bytes)},
          {"ready_rss_bytes", m.ready_rss_bytes},
          {"ready_hwm_bytes", m.ready_hwm_bytes},
          {"vm_hwm_bytes", m.vm_hwm_bytes},
          {"max_sampled_rss_since_ready", m.max_sampled_rss_since_ready}};
}

ProcessMemory baseline_from(const json& j, const std::string& path) {
  ProcessMemory m;
  m.bootstrap_bytes = optional_number_from(j, path, "bootstrap_bytes");
  m.ready_rss_bytes = number(j, path, "ready_rss_bytes");
  m.ready_hwm_bytes = number(j, path, "ready_hwm_bytes");
  m.vm_hwm_bytes = number(j, path, "vm_hwm_bytes");
  m.max_sampled_rss_since_ready = number(j, path, "max_sampled_rss_since_ready");
  return m;
}

}  // namespace

void record_oom(AnalysisState& state, OomRecord record) {
  state.oom_history.push_back(std::move(record));
  while (state.oom_history.size() > kMaxOomHistory) state.oom_history.pop_front();
}

json to_json(const AnalysisState& state) {
  json processes = json::object();
  for (const auto& [name, p] : state.processes) {
    processes[name] = {{"baseline", baseline_to_json(p.baseline)},
                       {"leak", leak_to_json(p.leak)},
                       {"rss_minima", p.rss_minima ? series_to_json(*p.rss_minima) : json(nullptr)}};
  }
  json ooms = json::array();
  for (const auto& o : state.oom_history) ooms.push_back({{"time_s", o.time_s}, {"pid", o.pid}, {"task", o.task}, {"bytes", o.bytes}});
  return {{"version", kStateVersion},
          {"processes", processes},
          {"nonreclaimable_minima", series_to_json(state.nonreclaimable_minima)},
          {"working_set_maxima", series_to_json(state.working_set_maxima)},
          {"oom_history", ooms}};
}

AnalysisState analysis_state_from_json(const json& j) {
  if (integer(j, "", "version") != kStateVersion) {
    bad("version", "written by another ramflow version (this one reads " + std::to_string(kStateVersion) + ")");
  }
  AnalysisState state;
  const auto& processes = field(j, "", "processes");
  if (!processes.is_object()) bad("processes", "not an object");
  if (processes.size() > kMaxStateProcesses) bad("processes", "more than " + std::to_string(kMaxStateProcesses) + " entries");
  for (const auto& [name, p] : processes.items()) {
    const std::string path = "processes." + name;
    ProcessState ps;
    ps.baseline = baseline_from(field(p, path, "baseline"), path + ".baseline");
    ps.leak = leak_from(field(p, path, "leak"), path + ".leak");
    if (!field(p, path, "rss_minima").is_null()) ps.rss_minima = series_from(p["rss_minima"], path + ".rss_minima");
    state.processes.emplace(name, std::move(ps));
  }
  state.nonreclaimable_minima = series_from(field(j, "", "nonreclaimable_minima"), "nonreclaimable_minima");
  state.working_set_maxima = series_from(field(j, "", "working_set_maxima"), "working_set_maxima");
  const auto& ooms = array(j, "", "oom_history", kMaxOomHistory);
  for (size_t i = 0; i < ooms.size(); ++i) {
    const std::string path = "oom_history[" + std::to_string(i) + "]";
    const auto& task = field(ooms[i], path, "task");
    if (!task.is_string()) bad(path + ".task", "not a string");
    const auto& pid = field(ooms[i], path, "pid");
    if (!pid.is_number_integer()) bad(path + ".pid", "not an integer");
    state.oom_history.push_back({number(ooms[i], path, "time_s"), pid.get<std::int64_t>(), task.get<std::string>(),
                                 number(ooms[i], path, "bytes")});
  }
  return state;
}

}  // namespace ramflow::analysis
