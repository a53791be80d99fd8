// OomTracker's restart state as JSON: history and the last counter readings,
// so kills that happened while the sidecar was down are still counted once.
#include <nlohmann/json.hpp>

#include "model/oom_tracker.h"

namespace ramflow::model {
namespace {

constexpr int kVersion = 1;
constexpr size_t kMaxCgroups = 1024;

nlohmann::json record_to_json(const OomRecord& r) {
  nlohmann::json j = {{"time", r.time},     {"pid", r.pid},       {"comm", r.comm},
                      {"cgroup", r.cgroup}, {"task", r.task},     {"source", r.source},
                      {"rss_at_death", r.rss_at_death},           {"leak_level", r.leak_level}};
  j["last_residual"] = r.last_residual ? nlohmann::json(*r.last_residual) : nlohmann::json(nullptr);
  return j;
}

OomRecord record_from_json(const nlohmann::json& j) {
  OomRecord r;
  r.time = j.at("time").get<double>();
  r.pid = j.at("pid").get<pid_t>();
  r.comm = j.at("comm").get<std::string>();
  r.cgroup = j.at("cgroup").get<std::string>();
  r.task = j.at("task").get<std::string>();
  r.source = j.at("source").get<std::string>();
  if (r.source != "ebpf" && r.source != "inferred") throw std::invalid_argument("source must be ebpf or inferred");
  r.rss_at_death = j.at("rss_at_death").get<uint64_t>();
  if (!j.at("last_residual").is_null()) r.last_residual = j.at("last_residual").get<int64_t>();
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
    const auto j = nlohmann::json::parse(text);
    if (j.at("version").get<int>() != kVersion) {
      *error = "OOM history has version " + j.at("version").dump() + ", this ramflowd reads version 1 — delete the file to start afresh";
      return false;
    }
    std::deque<OomRecord> history;
    for (const auto& r : j.at("history")) {
      history.push_back(record_from_json(r));
      history.back().task = task_label(history.back().task);
      if (history.size() > config_.history_size) history.pop_front();
    }
    auto counters = j.at("counters").get<std::map<std::string, uint64_t>>();
    if (counters.size() > kMaxCgroups) throw std::length_error("more than 1024 cgroups");
    history_ = std::move(history);
    last_counter_ = std::move(counters);
    return true;
  } catch (const std::exception& e) {
    *error = std::string("cannot read the OOM history: ") + e.what() + " — delete the file to start afresh";
    return false;
  }
}

}  // namespace ramflow::model
