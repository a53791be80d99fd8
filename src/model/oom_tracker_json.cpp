// OomTracker's restart state as JSON: history and the last counter readings,
// so kills that happened while the sidecar was down are still counted once.
#include <limits>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "model/bounded_json.h"
#include "model/oom_tracker.h"

namespace ramflow::model {
namespace {

constexpr int kVersion = 1;
constexpr size_t kMaxCgroups = 1024;
// 100 records and 1024 counters, with long cgroup paths, count ~2 MiB.
constexpr JsonBounds kBounds{8, 16u << 20};

nlohmann::json record_to_json(const OomRecord& r) {
  nlohmann::json j = {{"time", r.time},     {"pid", r.pid},       {"comm", r.comm},
                      {"cgroup", r.cgroup}, {"task", r.task},     {"source", r.source},
                      {"rss_at_death", r.rss_at_death},           {"leak_level", r.leak_level}};
  j["last_residual"] = r.last_residual ? nlohmann::json(*r.last_residual) : nlohmann::json(nullptr);
  return j;
}

// nlohmann converts a float to an integer type without a range check
// (undefined behaviour, found by fuzz_state_file): check kind and range first.
int64_t integer(const nlohmann::json& j, const char* key, int64_t lo, int64_t hi) {
  const auto& v = j.at(key);
  if (!v.is_number_integer() || (v.is_number_unsigned() && v.get<uint64_t>() > static_cast<uint64_t>(hi)) ||
      v.get<int64_t>() < lo || v.get<int64_t>() > hi) {
    throw std::invalid_argument(std::string(key) + " must be an integer from " + std::to_string(lo) + " to " +
                                std::to_string(hi));
  }
  return v.get<int64_t>();
}

OomRecord record_from_json(const nlohmann::json& j) {
  OomRecord r;
  if (!j.at("time").is_number()) throw std::invalid_argument("time must be a number");
  r.time = j.at("time").get<double>();
  r.pid = static_cast<pid_t>(integer(j, "pid", 0, std::numeric_limits<pid_t>::max()));
  r.comm = j.at("comm").get<std::string>();
  r.cgroup = j.at("cgroup").get<std::string>();
  r.task = j.at("task").get<std::string>();
  r.source = j.at("source").get<std::string>();
  if (r.source != "ebpf" && r.source != "inferred") throw std::invalid_argument("source must be ebpf or inferred");
  r.rss_at_death = static_cast<uint64_t>(integer(j, "rss_at_death", 0, std::numeric_limits<int64_t>::max()));
  if (!j.at("last_residual").is_null()) {
    r.last_residual = integer(j, "last_residual", std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max());
  }
  r.leak_level = j.at("leak_level").get<std::string>();
  return r;
}

}  // namespace

std::string OomTracker::to_json() const {
  nlohmann::json j = {{"version", kVersion}, {"history", nlohmann::json::array()}, {"counters", last_counter_}};
  for (const auto& r : history_) j["history"].push_back(record_to_json(r));
  return j.dump();
}

bool OomTracker::restore(std::string_view text, std::string* error) {
  try {
    const auto j = parse_bounded_json(text, kBounds);
    if (integer(j, "version", 0, 1 << 30) != kVersion) {
      *error = "OOM history has version " + j.at("version").dump() + ", this ramflowd reads version 1 — delete the file to start afresh";
      return false;
    }
    std::deque<OomRecord> history;
    for (const auto& r : j.at("history")) {
      history.push_back(record_from_json(r));
      history.back().task = task_label(history.back().task);
      if (history.size() > config_.history_size) history.pop_front();
    }
    const auto& counter_json = j.at("counters");
    if (!counter_json.is_object()) throw std::invalid_argument("counters must be an object");
    if (counter_json.size() > kMaxCgroups) throw std::length_error("more than 1024 cgroups");
    std::map<std::string, uint64_t> counters;
    for (const auto& [cgroup, n] : counter_json.items()) {
      if (!n.is_number_unsigned()) throw std::invalid_argument("counter of " + cgroup + " must be a whole number");
      counters[cgroup] = n.get<uint64_t>();
    }
    history_ = std::move(history);
    last_counter_ = std::move(counters);
    return true;
  } catch (const std::exception& e) {
    *error = std::string("cannot read the OOM history: ") + e.what() + " — delete the file to start afresh";
    return false;
  }
}

}  // namespace ramflow::model
