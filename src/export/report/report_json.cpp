#include "export/report/report_json.h"

#include <ctime>
#include <sys/utsname.h>
#include <unistd.h>

#include "analysis/units.h"
#include "export/report/report_sections.h"

namespace ramflow::exporter {
namespace detail {

std::string text(std::string_view raw) {
  using nlohmann::json;
  return json::parse(json(std::string(raw)).dump(-1, ' ', false, json::error_handler_t::replace)).get<std::string>();
}

bool agent_connected(const model::Snapshot& s, const model::ProcessView& p) {
  constexpr double kRecentSeconds = 60;  // "spoke in the last minute", as agent_connected_processes counts
  return p.agent && p.agent->connected && s.time - p.agent->last_heard <= kRecentSeconds;
}

}  // namespace detail

namespace {

std::string rfc3339(double unix_seconds) {
  std::time_t t = static_cast<std::time_t>(std::floor(unix_seconds));
  std::tm utc{};
  gmtime_r(&t, &utc);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return buf;
}

void check(const ReportOptions& o) {
  if (o.source != "serve" && o.source != "run" && o.source != "report") {
    throw std::invalid_argument("report source \"" + o.source + "\" is not one of serve, run, report");
  }
  if (!(o.refresh_seconds > 0)) throw std::invalid_argument("report refresh_seconds must be > 0");
}

}  // namespace

HostFacts read_host_facts() {
  HostFacts host;
  utsname u{};
  if (uname(&u) == 0) {
    host.hostname = u.nodename;
    host.kernel = u.release;
  }
  long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  host.cpus = cpus > 0 ? static_cast<int>(cpus) : 0;
  return host;
}

ReportOptions report_options(const config::Config& config) {
  ReportOptions o;
  o.thresholds.medium_bytes = config.leak_medium_mib * analysis::kMiB;
  o.thresholds.high_bytes = config.leak_high_mib * analysis::kMiB;
  o.greedy_bytes_per_second = config.greedy_mib_per_second * analysis::kMiB;
  o.headroom = config.headroom;
  o.restart_horizon_seconds = static_cast<double>(config.restart_horizon.count());
  o.show_command_lines = config.show_command_lines;
  return o;
}

std::string report_env(const char* ramflow_env, const char* app_env) {
  if (ramflow_env && *ramflow_env) return ramflow_env;
  if (app_env && *app_env) return app_env;
  return "local";
}

nlohmann::json build_report(const model::Snapshot& s, const ReportOptions& o) {
  check(o);
  const model::CgroupView& cgroup = detail::choose_cgroup(s, o.cgroup);
  const detail::WorkerGroup group = detail::choose_group(s, cgroup);
  nlohmann::json r;
  r["schema_version"] = 1;
  r["generated_at"] = rfc3339(s.time);
  r["generated_at_unix"] = s.time;
  r["ramflow_version"] = detail::text(o.version);
  r["source"] = o.source;
  r["env"] = detail::text(o.env);
  r["cgroup"] = detail::text(cgroup.facts.path);
  r["refresh_seconds"] = o.refresh_seconds;
  r["executive"] = detail::executive_section(s, group, o);
  r["execution_flow"] = detail::execution_flow_section(s, group, o);
  r["system_context"] = detail::system_context_section(s, group, o);
  return r;
}

}  // namespace ramflow::exporter
