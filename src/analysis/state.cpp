#include "analysis/state.h"

#include <cmath>
#include <stdexcept>

#include <nlohmann/json.hpp>

namespace ramflow::analysis {
namespace {

using nlohmann::json;

[[noreturn]] void bad(const std::string& path, const std::string& what) {
  throw std::invalid_argument("ramflow state: " + (path.empty() ? std::string("the document") : path) + ": " + what + " — delete the state file to start fresh");
}

const json& field(const json& j, const std::string& path, const char* key) {
  if (!j.is_object()) bad(path, "not an object");
  const auto it = j.find(key);
  if (it == j.end()) bad(path.empty() ? key : path + "." + key, "missing");
  return *it;
}

std::string child(const std::string& path, const char* key) { return path.empty() ? key : path + "." + key; }

double number(const json& j, const std::string& path, const char* key) {
  const auto& v = field(j, path, key);
  if (!v.is_number()) bad(child(path, key), "not a number");
  return v.get<double>();
}

const json& array(const json& j, const std::string& path, const char* key, size_t max) {
  const auto& v = field(j, path, key);
  if (!v.is_array()) bad(child(path, key), "not an array");
  if (v.size() > max) bad(child(path, key), "more than " + std::to_string(max) + " entries");
  return v;
}

// Bytes and bucket starts are whole numbers: written as integers, which is
// both shorter and several times faster to format than a double.
json compact(double v) {
  if (std::floor(v) == v && std::fabs(v) < 9.0e15) return static_cast<std::int64_t>(v);
  return v;
}

// [a, b, ...] of `n` finite numbers.
std::vector<double> tuple(const json& j, const std::string& path, size_t n, const char* shape) {
  if (!j.is_array() || j.size() != n) bad(path, std::string("not ") + shape + " numbers");
  std::vector<double> out;
  for (const auto& v : j) {
    if (!v.is_number() || !std::isfinite(v.get<double>())) bad(path, std::string("not ") + shape + " numbers");
    out.push_back(v.get<double>());
  }
  return out;
}

json series_to_json(const BucketSeriesState& s) {
  json closed = json::array();
  for (const auto& p : s.closed) closed.push_back({compact(p.start_s), compact(p.bytes)});
  return {{"open", s.open ? json{compact(s.open->start_s), compact(s.open->bytes)} : json(nullptr)},
          {"closed", std::move(closed)}};
}

BucketSeriesState series_from(const json& j, const std::string& path) {
  BucketSeriesState s;
  if (const auto& open = field(j, path, "open"); !open.is_null()) {
    const auto v = tuple(open, path + ".open", 2, "[start_s, bytes]");
    s.open = BucketPoint{v[0], v[1]};
  }
  const auto& closed = array(j, path, "closed", kMaxStateSeriesPoints);
  for (size_t i = 0; i < closed.size(); ++i) {
    const auto v = tuple(closed[i], path + ".closed[" + std::to_string(i) + "]", 2, "[start_s, bytes]");
    if (!s.closed.empty() && !(v[0] > s.closed.back().start_s)) {
      bad(path + ".closed[" + std::to_string(i) + "]", "bucket starts must increase");
    }
    s.closed.push_back({v[0], v[1]});
  }
  return s;
}

json leak_to_json(const LeakDetectorState& s) {
  json window = json::array();
  for (const auto& x : s.window) window.push_back({compact(x.x), x.time_s, compact(x.bytes)});
  return {{"window", std::move(window)},
          {"level", to_string(s.level)},
          {"failed_high", s.failed_high},
          {"failed_medium", s.failed_medium}};
}

int counter(const json& j, const std::string& path, const char* key) {
  const auto& v = field(j, path, key);
  if (!v.is_number_integer() || v.get<std::int64_t>() < 0 || v.get<std::int64_t>() > 1'000'000) {
    bad(child(path, key), "not a count between 0 and 1000000");
  }
  return v.get<int>();
}

LeakDetectorState leak_from(const json& j, const std::string& path) {
  LeakDetectorState s;
  const auto& window = array(j, path, "window", kMaxStateSeriesPoints);
  for (size_t i = 0; i < window.size(); ++i) {
    const auto v = tuple(window[i], path + ".window[" + std::to_string(i) + "]", 3, "[x, time_s, bytes]");
    s.window.push_back({v[0], v[1], v[2]});
  }
  const auto& level = field(j, path, "level");
  const auto parsed = level.is_string() ? leak_level_from_string(level.get<std::string>()) : std::nullopt;
  if (!parsed) bad(path + ".level", "not one of low, medium, high");
  s.level = *parsed;
  s.failed_high = counter(j, path, "failed_high");
  s.failed_medium = counter(j, path, "failed_medium");
  return s;
}

json process_to_json(const ProcessState& p) {
  return {{"pid", p.pid},
          {"start_ticks", p.start_ticks},
          {"leak_series", p.leak_series},
          {"leak", leak_to_json(p.leak)},
          {"next_x", compact(p.next_x)},
          {"ready_time", p.ready_time},
          {"max_rss_since_ready", compact(p.max_rss_since_ready)},
          {"rss_minima", series_to_json(p.rss_minima)}};
}

ProcessState process_from(const json& j, const std::string& path) {
  ProcessState p;
  const auto& pid = field(j, path, "pid");
  if (!pid.is_number_integer() || pid.get<std::int64_t>() <= 0) bad(path + ".pid", "not a positive integer");
  p.pid = pid.get<std::int64_t>();
  const auto& ticks = field(j, path, "start_ticks");
  if (!ticks.is_number_unsigned()) bad(path + ".start_ticks", "not a non-negative integer");
  p.start_ticks = ticks.get<std::uint64_t>();
  const auto& series = field(j, path, "leak_series");
  if (!series.is_string() || (series != "" && series != "residual" && series != "rss_bucket_minimum")) {
    bad(path + ".leak_series", "not one of \"\", residual, rss_bucket_minimum");
  }
  p.leak_series = series.get<std::string>();
  p.leak = leak_from(field(j, path, "leak"), path + ".leak");
  p.next_x = number(j, path, "next_x");
  p.ready_time = number(j, path, "ready_time");
  p.max_rss_since_ready = number(j, path, "max_rss_since_ready");
  p.rss_minima = series_from(field(j, path, "rss_minima"), path + ".rss_minima");
  return p;
}

}  // namespace

json to_json(const AnalysisState& state) {
  json processes = json::array();
  for (const auto& p : state.processes) processes.push_back(process_to_json(p));
  json cgroups = json::object();
  for (const auto& [path, c] : state.cgroups) {
    json scales = json::array();
    for (const auto& s : c.nonreclaimable_minima) scales.push_back(series_to_json(s));
    cgroups[path] = {{"nonreclaimable_minima", std::move(scales)},
                     {"nonreclaimable_maxima", series_to_json(c.nonreclaimable_maxima)}};
  }
  return {{"version", kStateVersion}, {"processes", std::move(processes)}, {"cgroups", std::move(cgroups)}};
}

AnalysisState analysis_state_from_json(const json& j) {
  const auto& version = field(j, "", "version");
  if (!version.is_number_integer() || version.get<std::int64_t>() != kStateVersion) {
    bad("version", "written by another ramflow version (this one reads " + std::to_string(kStateVersion) + ")");
  }
  AnalysisState state;
  const auto& processes = array(j, "", "processes", kMaxStateProcesses);
  for (size_t i = 0; i < processes.size(); ++i) {
    state.processes.push_back(process_from(processes[i], "processes[" + std::to_string(i) + "]"));
  }
  const auto& cgroups = field(j, "", "cgroups");
  if (!cgroups.is_object()) bad("cgroups", "not an object");
  if (cgroups.size() > kMaxStateCgroups) bad("cgroups", "more than " + std::to_string(kMaxStateCgroups) + " entries");
  for (const auto& [path, c] : cgroups.items()) {
    const std::string where = "cgroups[" + json(path).dump() + "]";
    CgroupState cs;
    const auto& scales = array(c, where, "nonreclaimable_minima", kMaxStateScales);
    for (size_t i = 0; i < scales.size(); ++i) {
      cs.nonreclaimable_minima.push_back(series_from(scales[i], where + ".nonreclaimable_minima[" + std::to_string(i) + "]"));
    }
    cs.nonreclaimable_maxima = series_from(field(c, where, "nonreclaimable_maxima"), where + ".nonreclaimable_maxima");
    state.cgroups[path] = std::move(cs);
  }
  return state;
}

}  // namespace ramflow::analysis
