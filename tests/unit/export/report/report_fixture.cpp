#include "report_fixture.h"

#include "analysis/recommend.h"
#include "config/config.h"

namespace ramflow::exporter::testing {
namespace {

using Role = analysis::ProcessRole;

std::uint64_t mib(double n) { return static_cast<std::uint64_t>(n * kMiB); }

model::ProcessView process(pid_t pid, pid_t ppid, Role role, double rss_mib, double hwm_mib, double pss_mib) {
  model::ProcessView p;
  p.facts.pid = pid;
  p.facts.ppid = ppid;
  p.role = role;
  p.facts.comm = "python3";
  p.facts.cmdline = {"/usr/bin/python3", "-m", "celery", "-A", "shop.search", "worker", "--concurrency", "2"};
  p.facts.cgroup = kCgroup;
  p.facts.start_time = kNow - 600;
  probe::ProcStatus status;
  status.pid = pid;
  status.vm_rss = mib(rss_mib);
  status.vm_hwm = mib(hwm_mib);
  p.facts.status = status;
  probe::SmapsRollup smaps;
  smaps.rss = mib(rss_mib);
  smaps.pss = mib(pss_mib);
  smaps.private_dirty = mib(pss_mib / 2);
  p.facts.smaps = smaps;
  p.facts.smaps_history.push({kNow - 30, smaps.pss, smaps.uss(), smaps.rss});
  p.facts.max_sampled_rss = mib(rss_mib);
  for (int i = 0; i < 4; ++i) p.facts.timeline.push({kNow - 3 + i, mib(rss_mib - 3 + i)});
  model::AgentFacts a;
  a.pid = pid;
  a.connected = true;
  a.first_heard = kNow - 590;
  a.last_heard = kNow - 2;
  a.hello = model::AgentHello{"0.1.0", "3.11.2", "celery", "prefork", ""};
  a.ready_rss = mib(100);
  a.ready_hwm = mib(100);
  a.ready_time = kNow - 580;
  p.agent = a;
  p.analysis.bootstrap_source = "agent";
  return p;
}

model::CallSpan span(const char* function, model::CallKind kind, double start, double duration, double gross_mib,
                     double net_mib) {
  model::CallSpan s;
  s.function = function;
  s.kind = kind;
  s.start_time = start;
  s.duration_seconds = duration;
  s.gross_bytes = static_cast<std::int64_t>(gross_mib * kMiB);
  s.net_self_bytes = static_cast<std::int64_t>(net_mib * kMiB);
  return s;
}

model::TaskEnd task_end(double time, double rss_after_mib, std::int64_t blocks, double anon_mib) {
  model::TaskEnd e;
  e.task = "tasks.search";
  e.time = time;
  e.duration_seconds = 2;
  e.rss_after = mib(rss_after_mib);
  e.allocated_blocks_delta = blocks;
  e.rss_anon_delta = static_cast<std::int64_t>(anon_mib * kMiB);
  return e;
}

model::FunctionStats row(const char* function, model::CallKind kind, std::uint64_t calls, double net_mib) {
  model::FunctionStats f;
  f.function = function;
  f.kind = kind;
  f.calls = calls;
  f.measured_calls = calls;
  f.net_self_bytes = net_mib * kMiB;
  f.freed_bytes = kMiB;
  f.gross_bytes = f.net_self_bytes + f.freed_bytes;
  f.duration_seconds = 1.5 * static_cast<double>(calls);
  f.peak_bytes = net_mib * kMiB / static_cast<double>(calls);
  return f;
}

// Main: bootstrap 10 MiB, ready 100 MiB, imports pandas 40 MiB and numpy 15 MiB.
model::ProcessView main_process() {
  model::ProcessView p = process(4100, 1, Role::main, 100, 110, 60);
  p.worker = "celery@demo";
  p.agent->hello->worker = p.worker;
  p.agent->bootstrap_rss = mib(10);
  p.agent->imports = {{"numpy", mib(15)}, {"pandas", mib(40)}};
  analysis::ProcessMemory m{10 * kMiB, 100 * kMiB, 100 * kMiB, 110 * kMiB, 103 * kMiB};
  p.analysis.layers = analysis::process_layers(m);
  p.analysis.allocation_bytes_per_second = 0.5 * kMiB;
  return p;
}

// Child 1: residuals 5, 10, 30 MiB after three tasks; leaking (high); a task running now;
// cached_search grew 80 MiB in 0.4 s (200 MiB/s, greedy) inside tasks.search, tokenize inside it.
model::ProcessView leaking_child() {
  model::ProcessView p = process(4101, 4100, Role::child, 180, 200, 150);
  p.worker = "celery@demo/1";
  p.agent->hello->worker = p.worker;
  auto& a = *p.agent;
  a.task_ends.push(task_end(kNow - 60, 105, 1000, 5));
  a.task_ends.push(task_end(kNow - 40, 110, 2000, 5));
  a.task_ends.push(task_end(kNow - 20, 130, 3000, 20));
  a.tasks_ended = 3;
  a.current_task = "tasks.search";
  a.current_task_since = kNow - 1;
  a.recent_calls.push(span("tokenize", model::CallKind::kFunction, kNow - 21.5, 0.2, 1, 1));
  a.recent_calls.push(span("cached_search", model::CallKind::kFunction, kNow - 21.6, 0.4, 80, 19));
  auto task = span("tasks.search", model::CallKind::kTask, kNow - 22, 2, 81, 1);
  task.error = true;
  a.recent_calls.push(task);
  auto& an = p.analysis;
  an.layers = analysis::child_layers({10 * kMiB, 100 * kMiB, 100 * kMiB, 110 * kMiB, 0},
                                     {std::nullopt, 100 * kMiB, 100 * kMiB, 200 * kMiB, 180 * kMiB});
  an.residual_bytes = 30 * kMiB;
  an.leak.evaluated = true;
  an.leak.samples = 40;
  an.leak.probability = 0.97;
  an.leak.trend_probability = 0.9993;
  an.leak.rate_per_x = 1.5 * kMiB;
  an.leak.rate_bytes_per_s = 100;
  an.leak.level = analysis::LeakLevel::high;
  an.leak_series = "residual";
  an.integrity = analysis::Integrity::bloated;
  an.seed = analysis::SeedVerdict{analysis::LeakLevel::high, 0.15};
  an.bloat.holder = analysis::BloatHolder::python_objects;
  an.allocation_bytes_per_second = 50 * kMiB;
  return p;
}

// Child 2: clean (residual 2 MiB, leak low).
model::ProcessView clean_child() {
  model::ProcessView p = process(4102, 4100, Role::child, 150, 160, 120);
  p.worker = "celery@demo/2";
  p.agent->hello->worker = p.worker;
  p.agent->task_ends.push(task_end(kNow - 30, 102, 10, 0.5));
  p.agent->tasks_ended = 1;
  auto& an = p.analysis;
  an.residual_bytes = 2 * kMiB;
  an.leak.evaluated = true;
  an.leak.samples = 12;
  an.leak.probability = 0.1;
  an.leak.trend_probability = 0.3;
  an.leak_series = "residual";
  an.integrity = analysis::Integrity::secure;
  an.seed = analysis::SeedVerdict{analysis::LeakLevel::low, 0.01};
  an.allocation_bytes_per_second = kMiB;
  return p;
}

// v1 cgroup: limit 512 MiB, usage 420 MiB with 20 MiB inactive file (working set 400 MiB),
// anon 380 + shmem 4 MiB (non-reclaimable 384 MiB), max_usage 430 MiB.
model::CgroupView cgroup() {
  model::CgroupView c;
  c.facts.path = kCgroup;
  c.facts.has_reading = true;
  c.facts.last_read = kNow;
  auto& m = c.facts.last;
  m.version = probe::CgroupVersion::kV1;
  m.usage = mib(420);
  m.inactive_file = mib(20);
  m.anon = mib(380);
  m.shmem = mib(4);
  m.limit = mib(512);
  m.peak = mib(430);
  m.oom_kill = 1;
  c.limit = {mib(512), "cgroup"};
  c.peak = mib(430);
  c.pressure = probe::Psi{3.12, 0, 0, 0.41, 0, 0, 0, 0, true};
  c.pressure_scope = "host";
  auto& a = c.analysis;
  a.scope = model::FigureScope::cgroup;
  a.working_set_bytes = 400 * kMiB;
  a.nonreclaimable_bytes = 384 * kMiB;
  a.margins = {512 * kMiB, analysis::LimitSource::cgroup, 112.0 / 512, 128.0 / 512};
  a.oom_risk.reason = "25.0 % of the limit is free of non-reclaimable memory";
  a.margin_verdict = analysis::MarginVerdict::healthy;
  a.footprint = {430 * kMiB, "sampled_nonreclaimable"};
  a.footprint_verdict = analysis::FootprintVerdict::fits;
  a.time_to_oom = analysis::TimeToOom{1000, 128 * kMiB / 1000, 0.9995, 480};
  model::WorkerGroupView group;
  group.main = 4100;
  group.members = {4100, 4101, 4102};
  group.peak = a.footprint;
  group.layers = analysis::group_layers({10 * kMiB, 100 * kMiB, 100 * kMiB, 110 * kMiB, 103 * kMiB}, 430 * kMiB, true);
  a.groups = {group};
  analysis::LimitInputs limit;
  limit.peak_bytes = 430 * kMiB;
  limit.leak = analysis::LeakEvidence{analysis::LeakLevel::high, 100, 120};
  a.recommended_limit = analysis::recommend_limit(limit);  // 516 MiB: no allowance for a high leak
  const double peaks[] = {400 * kMiB};
  a.recommended_request = analysis::recommend_request(peaks, a.recommended_limit.bytes);  // 460Mi
  a.celery = analysis::recommend_celery({.limit_bytes = a.recommended_limit.bytes,
                                         .main_rss_bytes = 100 * kMiB,
                                         .concurrency = 2,
                                         .child_baseline_bytes = 100 * kMiB,
                                         .child_growth_bytes_per_task = 1.5 * kMiB});
  return c;
}

}  // namespace

model::Snapshot celery_snapshot() {
  model::Snapshot s;
  s.time = kNow;
  s.cycle = 600;
  s.cgroup_version = probe::CgroupVersion::kV1;
  s.host_memory = probe::Meminfo{8192 * static_cast<std::uint64_t>(kMiB), 5000 * static_cast<std::uint64_t>(kMiB)};
  s.processes = {main_process(), leaking_child(), clean_child()};
  // Net-self tables since ready: the main ran nothing; growth since ready 0 + 80 + 50 MiB.
  s.processes[0].agent->net_self_known = true;
  s.processes[1].agent->net_self = {row("tokenize", model::CallKind::kFunction, 40, 1),
                                    row("cached_search", model::CallKind::kFunction, 40, 25),
                                    row("tasks.search", model::CallKind::kTask, 40, 4)};
  s.processes[1].agent->net_self_known = true;
  s.processes[2].agent->net_self = {row("other", model::CallKind::kFunction, 7, 0.5)};
  s.processes[2].agent->net_self_known = true;
  s.cgroups = {cgroup()};
  s.functions = {row("tokenize", model::CallKind::kFunction, 40, 1), row("cached_search", model::CallKind::kFunction, 40, 25),
                 row("other", model::CallKind::kFunction, 7, 0.5), row("tasks.search", model::CallKind::kTask, 40, 4)};
  s.agent_counters.accepted_by_type = {{"call", 120}, {"hello", 3}};
  s.agent_counters.rejected_by_reason = {{"malformed", 2}};
  s.agent_counters.dropped_in_agent = 4;
  s.agent_counters.sequence_gaps = 1;
  s.agent_connected_processes = 3;
  s.ebpf_active = true;
  s.ebpf_status = "running";
  model::OomRecord kill;
  kill.time = kNow - 3600;
  kill.pid = 4099;
  kill.comm = "python3";
  kill.cgroup = kCgroup;
  kill.task = "tasks.search";
  kill.source = "ebpf";
  kill.rss_at_death = mib(300);
  kill.capture_id = "4099-1777882400-1";
  s.oom_kills = {kill};
  // The leaking child's capture after its leak turned high.
  model::AllocationCapture c;
  c.id = "4101-1777885900-2";
  c.pid = 4101;
  c.start_ticks = s.processes[1].facts.start_ticks;
  c.worker = "celery@demo/1";
  c.reason = analysis::CaptureReason::leak_high;
  c.reason_text = "leak level high: +1.5 MiB per task over 40 tasks";
  c.requested_at = kNow - 100;
  c.status = model::CaptureStatus::done;
  c.tasks_wanted = 20;
  c.seconds_wanted = 60;
  c.frames = 8;
  c.tracing = "agent";
  c.started = kNow - 99.5;
  c.ended = kNow - 70;
  c.ended_by = "tasks";
  c.tasks = 20;
  c.rss_growth = mib(31);
  c.anon_growth = mib(31);
  c.traced_growth = mib(30);
  c.tracemalloc_growth = mib(0.5);
  c.sites.push_back({static_cast<std::int64_t>(mib(30)), 40, "CACHE[query] = json.loads(body)",
                     {{"json/decoder.py", 353, "JSONDecoder.raw_decode"}, {"app/search.py", 42, "cached_search"},
                      {"app/tasks.py", 17, "search"}},
                     1});
  c.oom_killed_at = kNow - 10;
  s.captures = std::make_shared<const std::vector<model::AllocationCapture>>(1, c);
  s.oom_counts = {{kCgroup, "tasks.search", "ebpf", 1}};
  model::Configuration configuration{config::describe(config::Config{}), {}};
  for (auto& [key, value] : configuration.settings) {
    if (key == "listen") value = "127.0.0.1:9911";  // set by the user: its source is not in the snapshot
    else configuration.sources[key] = "default";
  }
  s.configuration = std::make_shared<const model::Configuration>(std::move(configuration));
  return s;
}

ReportOptions test_options() {
  ReportOptions o;
  o.source = "run";
  o.env = "test";
  o.version = "0.1.0";
  o.host = {"laptop", "6.1.0-31-amd64", 2};
  return o;
}

}  // namespace ramflow::exporter::testing
