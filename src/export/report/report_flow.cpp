// execution_flow: per-process timelines (RSS points, task boundaries, tracked
// calls) and the net-self culprit table.
#include <algorithm>
#include <cmath>
#include <map>

#include "export/report/capture_json.h"
#include "export/report/report_sections.h"

namespace ramflow::exporter::detail {
namespace {

using nlohmann::json;

// A task span ends when its task does; allow for the two clocks' rounding.
constexpr double kSameEndSeconds = 0.001;

template <class T>
std::vector<T> last_n(const model::RingBuffer<T>& ring, std::size_t n) {
  std::vector<T> all = ring.to_vector();
  if (all.size() > n) all.erase(all.begin(), all.end() - static_cast<std::ptrdiff_t>(n));
  return all;
}

json points_json(const model::ProcessView& p, std::size_t bound) {
  json out = json::array();
  for (const auto& s : last_n(p.facts.timeline, bound)) out.push_back(json::array({s.time, s.rss}));
  return out;
}

// TaskEnd carries no outcome: the task's own span (same end) says whether it raised.
bool ended_in_error(const model::AgentFacts& a, const model::TaskEnd& end) {
  bool error = false;
  a.recent_calls.for_each([&](const model::CallSpan& c) {
    if (c.kind == model::CallKind::kTask && (c.function == end.task || c.function == model::FunctionTable::kOther) &&
        std::fabs(c.start_time + c.duration_seconds - end.time) < kSameEndSeconds) {
      error = error || c.error;
    }
  });
  return error;
}

json tasks_json(const model::ProcessView& p, std::size_t bound) {
  json out = json::array();
  if (!p.agent) return out;
  const auto& a = *p.agent;
  for (const auto& end : a.task_ends.to_vector()) {
    json t;
    t["name"] = text(end.task);
    t["task_id"] = nullptr;  // the agent does not send task ids
    t["start"] = end.time - end.duration_seconds;
    t["end"] = end.time;
    t["outcome"] = ended_in_error(a, end) ? "error" : "ok";
    t["residual_bytes"] = a.ready_rss ? json(static_cast<std::int64_t>(end.rss_after) - static_cast<std::int64_t>(*a.ready_rss))
                                      : json(nullptr);
    out.push_back(t);
  }
  if (!a.current_task.empty()) {
    out.push_back({{"name", text(a.current_task)}, {"task_id", nullptr}, {"start", a.current_task_since},
                   {"end", nullptr}, {"outcome", "running"}, {"residual_bytes", nullptr}});
  }
  if (out.size() > bound) out.erase(out.begin(), out.end() - static_cast<std::ptrdiff_t>(bound));
  return out;
}

// Depth = how many other calls of the process enclose this one in time. Calls
// finish inner first, so of two with the same interval the later one is outer.
std::vector<int> depths(const std::vector<model::CallSpan>& calls) {
  std::vector<int> depth(calls.size(), 0);
  for (std::size_t i = 0; i < calls.size(); ++i) {
    const double start = calls[i].start_time, end = start + calls[i].duration_seconds;
    for (std::size_t j = 0; j < calls.size(); ++j) {
      const double s = calls[j].start_time, e = s + calls[j].duration_seconds;
      if (j == i || s > start || e < end) continue;
      if (s < start || e > end || j > i) ++depth[i];
    }
  }
  return depth;
}

json spans_json(const model::ProcessView& p, std::size_t bound) {
  json out = json::array();
  if (!p.agent) return out;
  const std::vector<model::CallSpan> calls = p.agent->recent_calls.to_vector();
  const std::vector<int> depth = depths(calls);
  const std::size_t first = calls.size() > bound ? calls.size() - bound : 0;
  for (std::size_t i = first; i < calls.size(); ++i) {
    const auto& c = calls[i];
    json s;
    s["function"] = text(c.function);
    s["kind"] = std::string(model::to_string(c.kind));
    s["start"] = c.start_time;
    s["end"] = c.start_time + c.duration_seconds;
    s["depth"] = depth[i];
    s["gross_bytes"] = c.gross_bytes;
    s["net_self_bytes"] = c.net_self_bytes;
    out.push_back(s);
  }
  return out;
}

json figures_json(const model::FunctionStats& f) {
  json r;
  r["function"] = text(f.function);
  r["kind"] = std::string(model::to_string(f.kind));
  r["calls"] = f.calls;
  r["measured_calls"] = f.measured_calls;
  r["net_self_bytes"] = whole(f.net_self_bytes);
  r["released_bytes"] = whole(f.released_bytes);
  r["gross_bytes"] = whole(f.gross_bytes);
  r["freed_bytes"] = whole(f.freed_bytes);
  r["duration_seconds"] = f.duration_seconds;
  r["peak_bytes"] = whole(f.peak_bytes);
  r["approximate"] = f.approximate;
  return r;
}

// The group's net-self table since ready (docs/analysis.md "Net self"): the
// tables its members' agents sent, merged by function, and the line that makes
// it add up to their RSS growth since ready.
json net_self_json(const WorkerGroup& g) {
  std::map<std::pair<std::string, model::CallKind>, model::FunctionStats> merged;
  double growth = 0, tracked = 0;
  std::size_t reconciled = 0, without_table = 0;
  bool since_ready = true;
  for (const auto* p : g.members) {
    if (!p->agent) continue;
    const auto& a = *p->agent;
    const auto base = a.net_self_since_ready ? a.ready_rss : a.bootstrap_rss;
    if (!a.net_self_known || !base || !p->facts.status) {
      ++without_table;
      continue;
    }
    ++reconciled;
    since_ready = since_ready && a.net_self_since_ready;
    growth += static_cast<double>(p->facts.status->vm_rss) - static_cast<double>(*base);
    for (const auto& row : p->agent->net_self) {
      auto& into = merged[{row.function, row.kind}];
      into.function = row.function;
      into.kind = row.kind;
      model::accumulate(into, row);
      tracked += row.net_self_bytes - row.released_bytes;
    }
  }
  std::vector<const model::FunctionStats*> rows;
  for (const auto& [key, f] : merged) rows.push_back(&f);
  std::stable_sort(rows.begin(), rows.end(), [](const auto* a, const auto* b) { return a->net_self_bytes > b->net_self_bytes; });
  json out = json::array();
  for (const auto* f : rows) out.push_back(figures_json(*f));
  bool approximate = std::any_of(g.members.begin(), g.members.end(), [](const auto* p) { return p->analysis.approximate; });
  json reconciliation = {{"processes", reconciled},
                         {"processes_without_table", without_table},
                         {"growth_since_ready_bytes", whole(growth)},
                         {"tracked_net_bytes", whole(tracked)},
                         {"outside_tracked_bytes", whole(growth - tracked)}};
  return {{"approximate", approximate},
          {"since", since_ready ? "ready" : "start"},
          {"rows", out},
          {"reconciliation", reconciliation}};
}

}  // namespace

// The group's captures, the most recent first: of its live members, and of
// those that ended (a killed process's last capture is its post-mortem).
json allocation_sites_json(const model::Snapshot& s, const WorkerGroup& g) {
  json out = json::array();
  if (!s.captures) return out;
  for (const auto& c : *s.captures) {
    const bool member = std::any_of(g.members.begin(), g.members.end(), [&](const model::ProcessView* p) {
      return p->facts.pid == c.pid && (c.start_ticks == 0 || p->facts.start_ticks == c.start_ticks);
    });
    if (member) out.push_back(capture_json(c));
  }
  return out;
}

json execution_flow_section(const model::Snapshot& snapshot, const WorkerGroup& g, const ReportOptions& o) {
  json timelines = json::array();
  for (const auto* p : g.members) {
    json t;
    t["pid"] = p->facts.pid;
    t["worker"] = text_or_null(p->worker);
    t["role"] = std::string(analysis::to_string(p->role));
    t["points"] = points_json(*p, o.bounds.points);
    t["tasks"] = tasks_json(*p, o.bounds.tasks);
    t["spans"] = spans_json(*p, o.bounds.spans);
    timelines.push_back(t);
  }
  json f;
  f["bounds"] = {{"points", o.bounds.points}, {"tasks", o.bounds.tasks}, {"spans", o.bounds.spans}};
  f["timelines"] = timelines;
  f["net_self"] = net_self_json(g);
  f["allocation_sites"] = allocation_sites_json(snapshot, g);
  return f;
}

}  // namespace ramflow::exporter::detail
