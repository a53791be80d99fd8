#include "model/allocation_capture_json.h"

#include <cmath>
#include <limits>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "model/bounded_json.h"

namespace ramflow::model {
namespace {

using nlohmann::json;

constexpr int kVersion = 1;
constexpr std::size_t kMaxLastAutomatic = 4096;
constexpr std::size_t kMaxSites = 50, kMaxFrames = 64, kMaxText = 1024;
// 64 captures of 50 sites of 64 frames with long paths stay under this.
constexpr JsonBounds kBounds{8, 64u << 20};

json optional_number(const std::optional<std::int64_t>& v) { return v ? json(*v) : json(nullptr); }

json capture_to_json(const AllocationCapture& c) {
  json sites = json::array();
  for (const auto& s : c.sites) {
    json frames = json::array();
    for (const auto& f : s.frames) frames.push_back({f.file, f.line, f.function});
    sites.push_back({s.bytes, s.blocks, s.code, std::move(frames), s.site});
  }
  return {{"id", c.id},
          {"pid", c.pid},
          {"start_ticks", c.start_ticks},
          {"worker", c.worker},
          {"reason", analysis::to_string(c.reason)},
          {"reason_text", c.reason_text},
          {"requested_at", c.requested_at},
          {"status", to_string(c.status)},
          {"error", c.error},
          {"tasks_wanted", c.tasks_wanted},
          {"seconds_wanted", c.seconds_wanted},
          {"frames", c.frames},
          {"tracing", c.tracing},
          {"started", c.started},
          {"ended", c.ended},
          {"ended_by", c.ended_by},
          {"tasks", c.tasks},
          {"concurrent", c.concurrent},
          {"rss_growth", optional_number(c.rss_growth)},
          {"anon_growth", optional_number(c.anon_growth)},
          {"traced_growth", optional_number(c.traced_growth)},
          {"tracemalloc_growth", optional_number(c.tracemalloc_growth)},
          {"sites", std::move(sites)},
          {"oom_killed_at", c.oom_killed_at ? json(*c.oom_killed_at) : json(nullptr)}};
}

[[noreturn]] void bad(const std::string& what) { throw std::invalid_argument(what); }

std::string text(const json& j, const char* key) {
  const auto& v = j.at(key);
  if (!v.is_string() || v.get_ref<const std::string&>().size() > kMaxText) bad(std::string(key) + " must be a string");
  return v.get<std::string>();
}

double number(const json& v, const char* key) {
  if (!v.is_number() || !std::isfinite(v.get<double>())) bad(std::string(key) + " must be a number");
  return v.get<double>();
}

// Checked before conversion: nlohmann converts out-of-range numbers without a check.
std::int64_t integer(const json& v, const char* key, std::int64_t lo, std::int64_t hi) {
  if (!v.is_number_integer() || (v.is_number_unsigned() && v.get<std::uint64_t>() > static_cast<std::uint64_t>(hi)) ||
      v.get<std::int64_t>() < lo || v.get<std::int64_t>() > hi) {
    bad(std::string(key) + " must be an integer from " + std::to_string(lo) + " to " + std::to_string(hi));
  }
  return v.get<std::int64_t>();
}

std::optional<std::int64_t> optional_integer(const json& j, const char* key) {
  const auto& v = j.at(key);
  if (v.is_null()) return std::nullopt;
  return integer(v, key, -(std::int64_t{1} << 48), std::int64_t{1} << 48);
}

AllocationCapture capture_from_json(const json& j) {
  constexpr auto kMax = std::numeric_limits<std::int64_t>::max();
  AllocationCapture c;
  c.id = text(j, "id");
  if (c.id.empty() || c.id.size() > 64) bad("id must have 1 to 64 characters");
  c.pid = static_cast<pid_t>(integer(j.at("pid"), "pid", 1, std::numeric_limits<pid_t>::max()));
  c.start_ticks = static_cast<std::uint64_t>(integer(j.at("start_ticks"), "start_ticks", 0, kMax));
  c.worker = text(j, "worker");
  auto reason = analysis::capture_reason_from_string(text(j, "reason"));
  if (!reason) bad("reason must be on_demand, leak_high or oom_near");
  c.reason = *reason;
  c.reason_text = text(j, "reason_text");
  c.requested_at = number(j.at("requested_at"), "requested_at");
  auto status = capture_status_from_string(text(j, "status"));
  if (!status) bad("status is not a capture status");
  c.status = *status;
  c.error = text(j, "error");
  c.tasks_wanted = static_cast<std::uint64_t>(integer(j.at("tasks_wanted"), "tasks_wanted", 0, 100000));
  c.seconds_wanted = number(j.at("seconds_wanted"), "seconds_wanted");
  c.frames = static_cast<std::uint32_t>(integer(j.at("frames"), "frames", 0, 64));
  c.tracing = text(j, "tracing");
  c.started = number(j.at("started"), "started");
  c.ended = number(j.at("ended"), "ended");
  c.ended_by = text(j, "ended_by");
  c.tasks = static_cast<std::uint64_t>(integer(j.at("tasks"), "tasks", 0, kMax));
  if (!j.at("concurrent").is_boolean()) bad("concurrent must be true or false");
  c.concurrent = j.at("concurrent").get<bool>();
  c.rss_growth = optional_integer(j, "rss_growth");
  c.anon_growth = optional_integer(j, "anon_growth");
  c.traced_growth = optional_integer(j, "traced_growth");
  c.tracemalloc_growth = optional_integer(j, "tracemalloc_growth");
  const auto& sites = j.at("sites");
  if (!sites.is_array() || sites.size() > kMaxSites) bad("sites must be an array of at most 50");
  for (const auto& s : sites) {
    if (!s.is_array() || s.size() != 5 || !s[2].is_string() || !s[3].is_array() || s[3].empty() ||
        s[3].size() > kMaxFrames) {
      bad("a site must be [bytes, blocks, code, frames, site]");
    }
    CaptureSite site;
    site.bytes = integer(s[0], "site bytes", 0, std::int64_t{1} << 48);
    site.blocks = integer(s[1], "site blocks", -(std::int64_t{1} << 48), std::int64_t{1} << 48);
    site.code = s[2].get<std::string>();
    for (const auto& f : s[3]) {
      if (!f.is_array() || f.size() != 3 || !f[0].is_string() || !f[2].is_string()) bad("a frame must be [file, line, function]");
      site.frames.push_back({f[0].get<std::string>(), static_cast<std::uint32_t>(integer(f[1], "line", 0, 1 << 30)),
                             f[2].get<std::string>()});
    }
    site.site = static_cast<std::uint32_t>(integer(s[4], "site", 0, static_cast<std::int64_t>(site.frames.size()) - 1));
    c.sites.push_back(std::move(site));
  }
  if (!j.at("oom_killed_at").is_null()) c.oom_killed_at = number(j.at("oom_killed_at"), "oom_killed_at");
  return c;
}

}  // namespace

std::string captures_to_json(const std::deque<AllocationCapture>& captures, const LastAutomatic& last_automatic) {
  json j = {{"version", kVersion}, {"captures", json::array()}, {"last_automatic", json::array()}};
  for (const auto& c : captures) j["captures"].push_back(capture_to_json(c));
  for (const auto& [key, time] : last_automatic) {
    j["last_automatic"].push_back({std::get<0>(key), std::get<1>(key), analysis::to_string(std::get<2>(key)), time});
  }
  return j.dump();
}

bool captures_from_json(std::string_view text_in, std::size_t max_captures, std::deque<AllocationCapture>& captures,
                        LastAutomatic& last_automatic, std::string* error) {
  try {
    const auto j = parse_bounded_json(text_in, kBounds);
    if (!j.is_object() || integer(j.at("version"), "version", 0, 1 << 30) != kVersion) {
      bad("not version " + std::to_string(kVersion));
    }
    const auto& list = j.at("captures");
    if (!list.is_array() || list.size() > max_captures) bad("captures must be an array of at most " + std::to_string(max_captures));
    std::deque<AllocationCapture> book;
    for (const auto& c : list) book.push_back(capture_from_json(c));
    const auto& last_list = j.at("last_automatic");
    if (!last_list.is_array() || last_list.size() > kMaxLastAutomatic) bad("last_automatic must be an array of at most 4096");
    LastAutomatic last;
    for (const auto& e : last_list) {
      if (!e.is_array() || e.size() != 4 || !e[2].is_string()) {
        bad("last_automatic entries must be [pid, start_ticks, reason, time]");
      }
      auto reason = analysis::capture_reason_from_string(e[2].get<std::string>());
      if (!reason) bad("last_automatic: reason must be on_demand, leak_high or oom_near");
      last[{static_cast<pid_t>(integer(e[0], "pid", 1, std::numeric_limits<pid_t>::max())),
            static_cast<std::uint64_t>(integer(e[1], "start_ticks", 0, std::numeric_limits<std::int64_t>::max())),
            *reason}] = number(e[3], "time");
    }
    captures = std::move(book);
    last_automatic = std::move(last);
    return true;
  } catch (const std::exception& e) {
    *error = std::string("cannot read the allocation-site captures: ") + e.what();
    return false;
  }
}

}  // namespace ramflow::model
