#include "probe/cgroup.h"

#include <sys/stat.h>
#include <unistd.h>

#include "probe/detail/fields.h"
#include "probe/detail/file_read.h"

namespace ramflow::probe {

using namespace detail;

std::string_view to_string(CgroupVersion v) {
  switch (v) {
    case CgroupVersion::kV1: return "v1";
    case CgroupVersion::kV2: return "v2";
    case CgroupVersion::kNone: return "none";
  }
  return "none";
}

CgroupVersion detect_cgroup_version(const std::string& cgroup_root) {
  if (::access(join_path(cgroup_root, "memory/memory.usage_in_bytes").c_str(), F_OK) == 0)
    return CgroupVersion::kV1;
  const auto controllers = read_file(join_path(cgroup_root, "cgroup.controllers"));
  if (controllers)
    for (const auto c : split_whitespace(controllers.value()))
      if (c == "memory") return CgroupVersion::kV2;
  return CgroupVersion::kNone;
}

Result<std::string> read_memory_cgroup_path(const std::string& proc_root, pid_t pid,
                                            CgroupVersion version) {
  const std::string path = join_path(proc_root, std::to_string(pid) + "/cgroup");
  if (version == CgroupVersion::kNone)
    return ReadError{ErrorKind::kMalformed, path, "no memory cgroup hierarchy is mounted"};
  auto text = read_file(path);
  if (!text) return text.error();
  std::string_view t = text.value();
  if (auto e = require_complete(t, path)) return *e;
  // "ID:CONTROLLERS:PATH"; PATH may itself contain ':'.
  while (!t.empty()) {
    const std::string_view line = t.substr(0, t.find('\n'));
    t.remove_prefix(line.size() + 1);
    const std::size_t c1 = line.find(':');
    const std::size_t c2 = c1 == std::string_view::npos ? c1 : line.find(':', c1 + 1);
    if (c2 == std::string_view::npos) continue;
    const std::string_view id = line.substr(0, c1);
    const std::string_view controllers = line.substr(c1 + 1, c2 - c1 - 1);
    const bool wanted = version == CgroupVersion::kV1 ? comma_list_has(controllers, "memory")
                                                      : (id == "0" && controllers.empty());
    if (wanted) return std::string(line.substr(c2 + 1));
  }
  return ReadError{ErrorKind::kMalformed, path,
                   version == CgroupVersion::kV1 ? "no line for the memory controller"
                                                 : "no \"0::\" line"};
}

std::string memory_cgroup_dir(const std::string& cgroup_root, CgroupVersion version,
                              const std::string& relative) {
  const std::string base = version == CgroupVersion::kV1 ? join_path(cgroup_root, "memory") : cgroup_root;
  return join_path(base, relative);
}

namespace {

// Where each version keeps each fact: the v1/v2 difference, written once.
struct Layout {
  std::string_view usage, limit, peak, events;
  std::string_view anon, file, active_file, inactive_file, shmem, unevictable;
  Presence shmem_presence;
  std::string_view oom_key;  // empty: this version has no such counter
};

constexpr Layout kV1Layout{"memory.usage_in_bytes", "memory.limit_in_bytes", "memory.max_usage_in_bytes",
                           "memory.oom_control",    "total_rss",             "total_cache",
                           "total_active_file",     "total_inactive_file",   "total_shmem",
                           "total_unevictable",     Presence::kOptional,     ""};
constexpr Layout kV2Layout{"memory.current", "memory.max",  "memory.peak", "memory.events",
                           "anon",           "file",        "active_file", "inactive_file",
                           "shmem",          "unevictable", Presence::kRequired, "oom"};

// v1 "unlimited" is PAGE_COUNTER_MAX * PAGE_SIZE (9223372036854771712 on x86-64);
// no real limit comes near 2^62.
constexpr std::uint64_t kUnlimitedFrom = std::uint64_t{1} << 62;

class CgroupDir {
 public:
  explicit CgroupDir(std::string dir) : dir_(std::move(dir)) {}

  // A required file: missing means the cgroup vanished, or this is not a memory cgroup.
  Result<std::string> required(std::string_view name) const {
    const std::string path = join_path(dir_, name);
    auto text = read_file(path);
    if (text || text.error().kind != ErrorKind::kNotFound) return text;
    struct stat st {};
    if (::stat(dir_.c_str(), &st) != 0)
      return ReadError{ErrorKind::kNotFound, dir_, "cgroup directory is gone (the cgroup was removed)"};
    return ReadError{ErrorKind::kMalformed, path, "file missing: not a memory cgroup directory of this version"};
  }

  // An optional file: nullopt when absent; other errors are kept in `errors`.
  std::optional<std::string> optional(std::string_view name, std::vector<ReadError>& errors) const {
    auto text = read_file(join_path(dir_, name));
    if (text) return std::move(text).value();
    if (text.error().kind != ErrorKind::kNotFound) errors.push_back(text.error());
    return std::nullopt;
  }

  std::string path(std::string_view name) const { return join_path(dir_, name); }

 private:
  std::string dir_;
};

Result<std::optional<std::uint64_t>> parse_limit(std::string_view text, const std::string& path) {
  if (text == "max\n") return std::optional<std::uint64_t>();
  auto v = parse_single_u64(text, path);
  if (!v) return v.error();
  if (v.value() >= kUnlimitedFrom) return std::optional<std::uint64_t>();
  return std::optional<std::uint64_t>(v.value());
}

}  // namespace

Result<CgroupMemory> read_cgroup_memory(const std::string& dir, CgroupVersion version) {
  if (version == CgroupVersion::kNone)
    return ReadError{ErrorKind::kMalformed, dir, "no memory cgroup hierarchy is mounted"};
  const Layout& l = version == CgroupVersion::kV1 ? kV1Layout : kV2Layout;
  const CgroupDir cg(dir);
  CgroupMemory m;
  m.version = version;

  auto usage = cg.required(l.usage);
  if (!usage) return usage.error();
  auto usage_v = parse_single_u64(usage.value(), cg.path(l.usage));
  if (!usage_v) return usage_v.error();
  m.usage = usage_v.value();

  auto limit = cg.required(l.limit);
  if (!limit) return limit.error();
  auto limit_v = parse_limit(limit.value(), cg.path(l.limit));
  if (!limit_v) return limit_v.error();
  m.limit = limit_v.value();

  auto stat = cg.required("memory.stat");
  if (!stat) return stat.error();
  const Field stat_fields[] = {
      {l.anon, &m.anon},
      {l.file, &m.file},
      {l.active_file, &m.active_file},
      {l.inactive_file, &m.inactive_file},
      {l.shmem, &m.shmem, Unit::kBytes, l.shmem_presence},
      {l.unevictable, &m.unevictable},
  };
  if (auto e = parse_fields(stat.value(), cg.path("memory.stat"), stat_fields)) return *e;

  if (auto peak = cg.optional(l.peak, m.optional_errors)) {
    auto v = parse_single_u64(*peak, cg.path(l.peak));
    if (v) m.peak = v.value();
    else m.optional_errors.push_back(v.error());
  }

  if (auto events = cg.optional(l.events, m.optional_errors)) {
    std::uint64_t oom_kill = 0;
    bool has_oom_kill = false;
    std::vector<Field> fields{{"oom_kill", &oom_kill, Unit::kBytes, Presence::kOptional, &has_oom_kill}};
    if (!l.oom_key.empty()) fields.push_back({l.oom_key, &m.oom_events});
    if (auto e = parse_fields(*events, cg.path(l.events), fields)) m.optional_errors.push_back(*e);
    else if (has_oom_kill) m.oom_kill = oom_kill;
  }

  // v1 hierarchies have no memory.pressure: absent, the caller falls back to the host's.
  auto psi = read_psi(cg.path("memory.pressure"));
  if (psi) m.pressure = psi.value();
  else if (psi.error().kind != ErrorKind::kNotFound) m.optional_errors.push_back(psi.error());
  return m;
}

}  // namespace ramflow::probe
