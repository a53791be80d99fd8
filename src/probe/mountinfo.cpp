#include "probe/mountinfo.h"

#include "probe/detail/fields.h"
#include "probe/detail/file_read.h"

namespace ramflow::probe {

using namespace detail;

namespace {

// A host with many containers has thousands of mounts; a container's own list is short.
constexpr std::size_t kMaxMountinfoBytes = 4 * 1024 * 1024;

// The kernel escapes space, tab, newline and backslash in paths as \ooo.
std::string unescape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size() && s[i + 1] >= '0' && s[i + 1] <= '3' &&
        s[i + 2] >= '0' && s[i + 2] <= '7' && s[i + 3] >= '0' && s[i + 3] <= '7') {
      out += static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
      i += 3;
    } else {
      out += s[i];
    }
  }
  return out;
}

}  // namespace

Result<std::vector<CgroupMount>> parse_memory_cgroup_mounts(std::string_view text, const std::string& origin,
                                                           CgroupVersion version) {
  std::vector<CgroupMount> out;
  if (auto e = require_complete(text, origin)) return *e;
  std::size_t line_no = 0;
  while (!text.empty()) {
    const std::string_view line = text.substr(0, text.find('\n'));
    text.remove_prefix(line.size() + 1);
    ++line_no;
    // ID PARENT MAJ:MIN ROOT MOUNT_POINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPER_OPTIONS
    const auto f = split_whitespace(line);
    std::size_t dash = 6;
    while (dash < f.size() && f[dash] != "-") ++dash;
    if (dash + 2 >= f.size()) {  // no "-", or nothing after it
      return ReadError{ErrorKind::kMalformed, origin, "line " + std::to_string(line_no) + " is not a mountinfo line"};
    }
    const std::string_view fstype = f[dash + 1];
    const std::string_view super_options = dash + 3 < f.size() ? f[dash + 3] : std::string_view();
    const bool wanted = version == CgroupVersion::kV1   ? fstype == "cgroup" && comma_list_has(super_options, "memory")
                        : version == CgroupVersion::kV2 ? fstype == "cgroup2"
                                                        : false;
    if (wanted) out.push_back({unescape(f[3]), unescape(f[4])});
  }
  return out;
}

Result<std::vector<CgroupMount>> read_memory_cgroup_mounts(const std::string& proc_root, pid_t pid,
                                                          CgroupVersion version) {
  const std::string path = join_path(proc_root, std::to_string(pid) + "/mountinfo");
  auto text = read_file(path, kMaxMountinfoBytes);
  if (!text) return text.error();
  return parse_memory_cgroup_mounts(text.value(), path, version);
}

}  // namespace ramflow::probe
