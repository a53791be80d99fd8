#include "export/report/capture_json.h"

#include <cstdio>
#include <sstream>

#include "analysis/allocation_capture.h"
#include "export/report/report_sections.h"

namespace ramflow::exporter {
namespace {

using nlohmann::json;
using detail::text;

json frame_json(const model::CaptureFrame& f) {
  return {{"file", text(f.file)}, {"line", f.line}, {"function", detail::text_or_null(f.function)}};
}

json growth_json(const model::AllocationCapture& c) {
  const auto split = model::growth_split(c);
  if (!split) return nullptr;
  return {{"rss_bytes", detail::or_null(c.rss_growth)},
          {"process_bytes", detail::whole(split->process_bytes)},
          {"python_bytes", detail::whole(split->python_bytes)},
          {"native_bytes", detail::whole(split->native_bytes)},
          {"native_share", detail::or_null(split->native_share)},
          {"tracemalloc_bytes", detail::or_null(c.tracemalloc_growth)},
          {"verdict", analysis::to_string(split->verdict)}};
}

std::string size_text(double bytes) {
  char buf[48];
  if (std::abs(bytes) >= 1024.0 * 1024.0) std::snprintf(buf, sizeof buf, "%.1f MiB", bytes / (1024.0 * 1024.0));
  else std::snprintf(buf, sizeof buf, "%.1f KiB", bytes / 1024.0);
  return buf;
}

std::string str(const json& j) { return j.is_string() ? j.get<std::string>() : j.is_null() ? "" : j.dump(); }

}  // namespace

json capture_json(const model::AllocationCapture& c) {
  json sites = json::array();
  for (const auto& s : c.sites) {
    if (s.frames.empty() || s.site >= s.frames.size()) continue;
    const auto& at = s.frames[s.site];
    json traceback = json::array();
    for (const auto& f : s.frames) traceback.push_back(frame_json(f));
    sites.push_back({{"file", text(at.file)},
                     {"line", at.line},
                     {"function", detail::text_or_null(at.function)},
                     {"code", text(s.code)},
                     {"bytes", s.bytes},
                     {"blocks", s.blocks},
                     {"traceback", std::move(traceback)}});
  }
  const bool ended = c.ended > 0;
  return {{"id", c.id},
          {"pid", c.pid},
          {"worker", detail::text_or_null(c.worker)},
          {"reason", analysis::to_string(c.reason)},
          {"why", text(c.reason_text)},
          {"requested_at", c.requested_at},
          {"status", model::to_string(c.status)},
          {"error", detail::text_or_null(c.error)},
          {"window",
           {{"started", c.started > 0 ? json(c.started) : json(nullptr)},
            {"ended", ended ? json(c.ended) : json(nullptr)},
            {"seconds", ended && c.started > 0 ? json(c.ended - c.started) : json(nullptr)},
            {"tasks", c.tasks},
            {"concurrent", c.concurrent},
            {"tasks_wanted", c.tasks_wanted},
            {"seconds_wanted", c.seconds_wanted},
            {"ended_by", detail::text_or_null(c.ended_by)},
            {"frames", c.frames},
            {"tracing", detail::text_or_null(c.tracing)}}},
          {"growth", growth_json(c)},
          {"sites", std::move(sites)},
          {"oom_killed_at", detail::or_null(c.oom_killed_at)}};
}

std::string format_capture_text(const json& c, std::size_t max_sites) {
  std::ostringstream out;
  out << "allocation sites of pid " << str(c.value("pid", json())) << " (" << str(c.value("reason", json())) << ", "
      << str(c.value("why", json())) << "): " << str(c.value("status", json()));
  if (c.contains("error") && !c["error"].is_null()) out << " — " << str(c["error"]);
  out << "\n";
  const json& w = c.value("window", json::object());
  if (!w.is_null() && !w.value("seconds", json()).is_null()) {
    char line[160];
    std::snprintf(line, sizeof line, "  window: %.1f s, %s tasks, ended by %s, %s frames, tracemalloc of the %s\n",
                  w["seconds"].get<double>(), str(w.value("tasks", json())).c_str(), str(w.value("ended_by", json())).c_str(),
                  str(w.value("frames", json())).c_str(), str(w.value("tracing", json())).c_str());
    out << line;
  }
  const json& g = c.value("growth", json());
  if (g.is_object()) {
    out << "  growth: RssAnon " << size_text(g["process_bytes"].get<double>()) << ", Python objects "
        << size_text(g["python_bytes"].get<double>()) << ", native " << size_text(g["native_bytes"].get<double>());
    if (!g["native_share"].is_null()) out << " (" << static_cast<int>(g["native_share"].get<double>() * 100 + 0.5) << " %)";
    const std::string verdict = str(g["verdict"]);
    if (verdict == "native") {
      out << "\n  most of the growth is native (C extensions, drivers, ctypes): the lines below hold only its Python part";
    }
    out << "\n";
  }
  const json& sites = c.value("sites", json::array());
  std::size_t shown = 0;
  for (const auto& s : sites) {
    if (shown++ == max_sites) break;
    out << "  " << size_text(s["bytes"].get<double>()) << " in " << str(s["blocks"]) << " blocks  " << str(s["file"])
        << ":" << str(s["line"]) << " " << str(s["function"]) << "\n      " << str(s["code"]) << "\n";
    for (const auto& f : s["traceback"]) {
      out << "        " << str(f["file"]) << ":" << str(f["line"]) << " " << str(f["function"]) << "\n";
    }
  }
  if (c.value("status", "") == "done" && sites.empty()) out << "  no allocation grew during the window\n";
  return out.str();
}

}  // namespace ramflow::exporter
