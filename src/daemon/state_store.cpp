#include "daemon/state_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <fstream>
#include <iterator>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "model/bounded_json.h"

namespace ramflow::daemon {
namespace {

constexpr int kFileVersion = 1;

// What to do about a failed write, in the user's terms.
std::string advice(int err) {
  switch (err) {
    case EROFS: return "the directory is read-only: mount a writable volume (an emptyDir) there";
    case ENOSPC:
    case EDQUOT: return "the volume is full: raise the emptyDir's sizeLimit or free space";
    case EACCES:
    case EPERM:
      return "ramflowd (UID " + std::to_string(::getuid()) + ") may not write there: make the directory writable for it";
    case ENOENT:
    case ENOTDIR: return "the directory does not exist and cannot be created: fix --state-dir";
    default: return "check the volume mounted at --state-dir";
  }
}

std::string errno_text(int err) { return std::strerror(err); }

double steady_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

double thread_cpu_seconds() {
  timespec ts{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// Creates `dir` (mode 0700) if it is missing; a failure shows up at the write.
void ensure_dir(const std::string& dir) {
  struct stat st {};
  if (::stat(dir.c_str(), &st) == 0) return;
  for (size_t i = 1; i <= dir.size(); ++i) {
    if (i == dir.size() || dir[i] == '/') ::mkdir(dir.substr(0, i).c_str(), 0700);
  }
}

}  // namespace

StateStore::StateStore(std::string dir, RestoreBudget restore_budget)
    : dir_(std::move(dir)), restore_budget_(std::move(restore_budget)) {
  while (dir_.size() > 1 && dir_.back() == '/') dir_.pop_back();
}

std::string StateStore::budget_text() const {
  return std::to_string(restore_budget_.bytes >> 20) + " MiB (" + restore_budget_.reason + ")";
}

void StateStore::set_aside(const std::string& why) {
  const std::string aside = path() + ".corrupt";
  if (::rename(path().c_str(), aside.c_str()) == 0) {
    spdlog::warn("cannot restore the state from {}: {}; moved it to {} and starting fresh", path(), why, aside);
  } else {
    spdlog::warn("cannot restore the state from {}: {}; starting fresh (could not move it aside: {})", path(), why,
                 errno_text(errno));
  }
}

bool StateStore::restore(const Apply& apply) {
  if (!enabled()) return false;
  struct stat st {};
  const bool unfinished = ::lstat(loading_marker().c_str(), &st) == 0;
  if (::stat(path().c_str(), &st) != 0) {
    if (errno == ENOENT) {
      spdlog::info("no saved state in {}: learning from scratch", dir_);
    } else {
      spdlog::warn("cannot read the state file {}: {} — {}; learning from scratch", path(), errno_text(errno),
                   advice(errno));
    }
    ::unlink(loading_marker().c_str());
    return false;
  }
  if (unfinished) {
    set_aside("the last start was stopped while loading it (out of memory, or killed), so it is not loaded again");
    ::unlink(loading_marker().c_str());
    return false;
  }
  if (!S_ISREG(st.st_mode)) {
    set_aside("not a regular file");
    return false;
  }
  if (static_cast<std::uint64_t>(st.st_size) > max_file_bytes()) {
    set_aside("larger than " + std::to_string(max_file_bytes() >> 10) + " KiB, the most this sidecar can load in " +
              budget_text() + " — raise its memory limit");
    return false;
  }
  // Present while the file is parsed: if the parse kills the process, the next start knows.
  const int marker = ::open(loading_marker().c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (marker >= 0) ::close(marker);
  const bool applied = load(apply);
  ::unlink(loading_marker().c_str());
  return applied;
}

bool StateStore::load(const Apply& apply) {
  std::ifstream in(path(), std::ios::binary);
  if (!in) {
    spdlog::warn("cannot open the state file {}: {} — {}; learning from scratch", path(), errno_text(errno),
                 advice(errno));
    return false;
  }
  try {
    analysis::AnalysisState state;
    std::string oom, captures;
    double written_at = 0;
    {
      std::string text{std::istreambuf_iterator<char>(in), {}};
      const auto j = model::parse_bounded_json(text, {kMaxStateNesting, restore_budget_.bytes});
      if (!j.is_object() || !j.contains("version") || j["version"] != kFileVersion) {
        throw std::invalid_argument("not a ramflow state file of version " + std::to_string(kFileVersion));
      }
      if (!j.contains("analysis") || !j.contains("oom")) throw std::invalid_argument("analysis or oom part missing");
      state = analysis::analysis_state_from_json(j["analysis"]);
      oom = j["oom"].dump();
      captures = j.contains("captures") ? j["captures"].dump() : std::string();
      if (j.contains("written_at") && j["written_at"].is_number()) written_at = j["written_at"].get<double>();
    }  // the document is freed before the parts are applied
    apply(state, oom);
    restored_captures_ = std::move(captures);
    spdlog::info("restored the state saved at {:.0f} from {}: {} processes, {} cgroups", written_at, path(),
                 state.processes.size(), state.cgroups.size());
    return true;
  } catch (const std::exception& e) {
    set_aside(e.what());
    return false;
  }
}

bool StateStore::write(const std::string& text, std::string* error) {
  ensure_dir(dir_);
  const std::string tmp = dir_ + "/.ramflow-state.json.tmp";
  // A fresh file, never one that was there (a left-over, or a planted symlink).
  ::unlink(tmp.c_str());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) {
    const int err = errno;
    *error = "cannot create " + tmp + ": " + errno_text(err) + " — " + advice(err);
    return false;
  }
  size_t done = 0;
  int err = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      err = n < 0 ? errno : ENOSPC;
      break;
    }
    done += static_cast<size_t>(n);
  }
  // No fsync: the file must survive a restart of ramflowd, not of the node,
  // whose reboot empties the pod's emptyDir anyway.
  if (::close(fd) != 0 && err == 0) err = errno;
  if (err == 0 && ::rename(tmp.c_str(), path().c_str()) != 0) err = errno;
  if (err != 0) {
    ::unlink(tmp.c_str());
    *error = "cannot write " + path() + ": " + errno_text(err) + " — " + advice(err);
    return false;
  }
  return true;
}

void StateStore::save_if_changed(std::uint64_t generation, const std::function<analysis::AnalysisState()>& analysis,
                                 const std::string& oom_json, double now, bool force, std::string_view captures_json) {
  if (!enabled()) return;
  if (!failing_ && written_generation_ == generation && written_oom_ == oom_json && written_captures_ == captures_json) {
    return;
  }
  const double started = steady_seconds();
  if (!force && started < next_allowed_) return;
  const double cpu_started = thread_cpu_seconds();

  // The OOM part arrives as the tracker's own JSON text: spliced in, not
  // parsed and dumped again.
  std::string text = nlohmann::json{{"version", kFileVersion},
                                    {"written_at", now},
                                    {"analysis", analysis::to_json(analysis())}}
                         .dump();
  text.pop_back();  // the closing brace
  text.append(",\"oom\":").append(oom_json);
  if (!captures_json.empty()) text.append(",\"captures\":").append(captures_json);
  text.push_back('}');
  std::string error;
  bool written = false;
  if (text.size() > max_file_bytes()) {
    error = "the state (" + std::to_string(text.size() >> 10) + " KiB) is larger than a restart could load (" +
            std::to_string(max_file_bytes() >> 10) + " KiB in " + budget_text() +
            "), so it is not saved — raise the sidecar's memory limit or lower --max-processes";
  } else {
    written = write(text, &error);
  }
  // Whatever the outcome, the next attempt waits in proportion to this one's
  // cost. CPU time, not wall time: on a busy node the thread may wait for a
  // core in the middle of a write, which costs the node nothing.
  const double cpu = thread_cpu_seconds() - cpu_started;
  next_allowed_ = started + cpu / kStateWriteCpuShare;
  spdlog::debug("state file: {} bytes, {:.3f} ms of CPU, {:.3f} ms of wall time", text.size(), cpu * 1e3,
                (steady_seconds() - started) * 1e3);
  if (!written) {
    ++status_.write_errors;
    if (!failing_) spdlog::error("{}; serving goes on, but a restart will forget what was learned", error);
    failing_ = true;
    return;
  }
  if (failing_) spdlog::info("the state file {} is written again", path());
  failing_ = false;
  written_generation_ = generation;
  written_oom_ = oom_json;
  written_captures_ = captures_json;
  status_.last_write = now;
}

}  // namespace ramflow::daemon
