#include "probe/cgroup_route.h"

#include <algorithm>
#include <optional>
#include <vector>

#include "probe/detail/fields.h"
#include "probe/detail/file_read.h"
#include "probe/mountinfo.h"

namespace ramflow::probe {

using namespace detail;

namespace {

// The root cgroup of a busy host lists every process: ~7 bytes each.
constexpr std::size_t kMaxProcsBytes = 1024 * 1024;

constexpr std::string_view kPtraceRemedy =
    "run the sidecar as the worker's UID (the pod's securityContext.runAsUser, the chart's default) or as "
    "UID 0 with CAP_SYS_PTRACE (chart: sidecar.readOtherUids=true)";
constexpr std::string_view kMountRemedy =
    "mount the node's /sys/fs/cgroup read-only into the sidecar and point --cgroup-root at it, or name the "
    "cgroup with --cgroup-path";

// Whether a path climbs out of the reader's cgroup namespace ("/../worker").
bool climbs(std::string_view path) {
  for (std::size_t start = 0; start <= path.size();) {
    const std::size_t slash = path.find('/', start);
    const std::string_view part = path.substr(start, slash == std::string_view::npos ? slash : slash - start);
    if (part == "..") return true;
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return false;
}

// The part of `path` below `root` ("" when equal), or nullopt when it is not below.
std::optional<std::string> below(std::string_view path, std::string_view root) {
  if (root == "/") return std::string(path);
  if (path == root) return std::string();
  if (path.size() > root.size() && path.substr(0, root.size()) == root && path[root.size()] == '/') {
    return std::string(path.substr(root.size()));
  }
  return std::nullopt;
}

// Whether <dir>/cgroup.procs lists `pid`; the read's error when it cannot be read.
Result<bool> lists(const std::string& dir, pid_t pid) {
  auto text = read_file(join_path(dir, "cgroup.procs"), kMaxProcsBytes);
  if (!text) return text.error();
  const auto want = static_cast<std::uint64_t>(pid);
  for (const auto field : split_whitespace(text.value())) {
    if (parse_u64(field) == want) return true;
  }
  return false;
}

// "cannot read PATH: DETAIL", without ReadError's generic hint: the remedy is chosen for the route.
std::string failed(const ReadError& e) { return "cannot read " + e.path + ": " + e.detail; }

// Tries one candidate directory; on failure says why in `notes` and may pick a remedy.
bool verified(const std::string& dir, pid_t pid, std::vector<std::string>& notes, std::string_view& remedy) {
  auto found = lists(dir, pid);
  if (found && found.value()) return true;
  if (found) {
    notes.push_back(dir + " is another cgroup (its cgroup.procs does not list pid " + std::to_string(pid) + ")");
  } else if (found.error().kind == ErrorKind::kNotFound) {
    notes.push_back(dir + " does not exist");
  } else {
    notes.push_back(failed(found.error()));
    if (found.error().kind == ErrorKind::kPermissionDenied) remedy = kPtraceRemedy;
  }
  return false;
}

std::string join(const std::vector<std::string>& parts, std::string_view sep) {
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : std::string(sep)) + p;
  return out;
}

}  // namespace

std::string_view to_string(CgroupRoute route) {
  switch (route) {
    case CgroupRoute::kPinned: return "pinned";
    case CgroupRoute::kCgroupRoot: return "cgroup_root";
    case CgroupRoute::kWorkerMount: return "worker_mount";
    case CgroupRoute::kUnreachable: return "unreachable";
  }
  return "unreachable";
}

std::string cgroup_dir_for(const std::string& proc_root, const CgroupLocation& loc, pid_t pid) {
  if (loc.route != CgroupRoute::kWorkerMount) return loc.dir;
  return join_path(join_path(proc_root, std::to_string(pid) + "/root"), loc.dir);
}

CgroupLocation pinned_cgroup(const std::string& cgroup_root, CgroupVersion version, const std::string& path) {
  CgroupLocation loc;
  loc.path = path;
  loc.route = CgroupRoute::kPinned;
  loc.dir = memory_cgroup_dir(cgroup_root, version, path);
  return loc;
}

Result<CgroupLocation> locate_memory_cgroup(const std::string& proc_root, const std::string& cgroup_root,
                                            CgroupVersion version, pid_t pid) {
  auto path = read_memory_cgroup_path(proc_root, pid, version);
  if (!path) return path.error();
  CgroupLocation loc;
  loc.path = path.value();
  std::vector<std::string> notes;
  std::string_view remedy = kMountRemedy;

  if (climbs(loc.path)) {
    notes.push_back("the cgroup lies outside the sidecar's cgroup namespace (" + loc.path + ")");
  } else {
    std::string dir = memory_cgroup_dir(cgroup_root, version, loc.path);
    if (verified(dir, pid, notes, remedy)) {
      loc.route = CgroupRoute::kCgroupRoot;
      loc.dir = std::move(dir);
      return loc;
    }
  }

  auto mounts = read_memory_cgroup_mounts(proc_root, pid, version);
  if (!mounts) {
    if (mounts.error().kind == ErrorKind::kNotFound) return mounts.error();  // the process exited
    notes.push_back(failed(mounts.error()));
    if (mounts.error().kind == ErrorKind::kPermissionDenied) remedy = kPtraceRemedy;
  } else if (mounts.value().empty()) {
    notes.push_back("the worker's mount namespace has no memory cgroup mount");
  } else {
    // The most specific mount first: a container may also see a parent mounted elsewhere.
    auto candidates = mounts.value();
    std::stable_sort(candidates.begin(), candidates.end(),
                     [](const auto& a, const auto& b) { return a.root.size() > b.root.size(); });
    const std::string worker_root = join_path(proc_root, std::to_string(pid) + "/root");
    for (const auto& m : candidates) {
      auto rest = below(loc.path, m.root);
      if (!rest) {
        notes.push_back("the worker's mount at " + m.mount_point + " shows cgroup " + m.root + ", not " + loc.path);
        continue;
      }
      std::string inside = join_path(m.mount_point, *rest);
      if (verified(join_path(worker_root, inside), pid, notes, remedy)) {
        loc.route = CgroupRoute::kWorkerMount;
        loc.dir = std::move(inside);
        return loc;
      }
    }
  }
  loc.missing = join(notes, "; ");
  loc.remedy = std::string(remedy);
  return loc;
}

}  // namespace ramflow::probe
