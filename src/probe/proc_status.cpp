#include "probe/proc_status.h"

#include "probe/detail/fields.h"
#include "probe/detail/file_read.h"

namespace ramflow::probe {

using namespace detail;

namespace {

// "Name:\tpython3\n": the name is the rest of the line (it may contain spaces).
std::optional<std::string> name_of(std::string_view text) {
  constexpr std::string_view kKey = "Name:";
  if (text.substr(0, kKey.size()) != kKey) return std::nullopt;
  std::string_view rest = text.substr(kKey.size());
  rest = rest.substr(0, rest.find('\n'));
  while (!rest.empty() && (rest.front() == '\t' || rest.front() == ' ')) rest.remove_prefix(1);
  return std::string(rest);
}

// "Uid:\t1000\t1000\t1000\t1000\n": real, effective, saved, filesystem.
std::optional<std::uint64_t> real_uid_of(std::string_view text) {
  const std::size_t at = text.find("\nUid:");
  if (at == std::string_view::npos) return std::nullopt;
  std::string_view line = text.substr(at + 5);
  line = line.substr(0, line.find('\n'));
  const auto tokens = split_whitespace(line);
  if (tokens.size() != 4) return std::nullopt;
  return parse_u64(tokens[0]);
}

}  // namespace

Result<ProcStatus> read_proc_status_file(const std::string& path) {
  auto text = read_file(path);
  if (!text) return text.error();
  return parse_proc_status(text.value(), path);
}

Result<ProcStatus> parse_proc_status(const std::string& t, const std::string& path) {
  // A zombie keeps its status file but has no memory left (no Vm* lines): it
  // exited, it just was not reaped yet. Reading it as "RSS 0" would be a lie.
  if (t.find("\nState:\tZ") != std::string::npos || t.find("\nState:\tX") != std::string::npos) {
    return ReadError{ErrorKind::kNotFound, path, "the process exited (zombie, not reaped yet)"};
  }
  ProcStatus s;
  std::uint64_t pid = 0, ppid = 0;
  const Field fields[] = {
      {"Pid", &pid},
      {"PPid", &ppid},
      {"VmRSS", &s.vm_rss, Unit::kKiB, Presence::kOptional},
      {"VmHWM", &s.vm_hwm, Unit::kKiB, Presence::kOptional},
      {"RssAnon", &s.rss_anon, Unit::kKiB, Presence::kOptional},
      {"RssFile", &s.rss_file, Unit::kKiB, Presence::kOptional},
      {"RssShmem", &s.rss_shmem, Unit::kKiB, Presence::kOptional},
      {"VmSwap", &s.vm_swap, Unit::kKiB, Presence::kOptional},
  };
  if (auto e = parse_fields(t, path, fields)) return *e;
  auto name = name_of(t);
  if (!name) return ReadError{ErrorKind::kMalformed, path, "missing field Name"};
  s.name = std::move(*name);
  const auto uid = real_uid_of(t);
  if (!uid) return ReadError{ErrorKind::kMalformed, path, "missing or bad field Uid"};
  s.pid = static_cast<pid_t>(pid);
  s.ppid = static_cast<pid_t>(ppid);
  s.uid = static_cast<uid_t>(*uid);
  return s;
}

Result<ProcStatus> read_proc_status(const std::string& proc_root, pid_t pid) {
  return read_proc_status_file(join_path(proc_root, std::to_string(pid) + "/status"));
}

}  // namespace ramflow::probe
