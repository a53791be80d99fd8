#include "app/run_command.h"

#include <fcntl.h>
#include <signal.h>

#include <csignal>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>

#include <spdlog/spdlog.h>

#include "app/agent_location.h"
#include "app/daemon_runtime.h"
#include "app/run_cgroup.h"
#include "app/summary.h"
#include "config/parse_value.h"
#include "export/report/html_report.h"

namespace ramflow::app {
namespace {

namespace fs = std::filesystem;

constexpr int kForwarded[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};

std::string env_or(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v && *v ? v : fallback;
}

std::string report_env() { return env_or("RAMFLOW_ENV", env_or("APP_ENV", "local")); }

// python-ram-flow's naming: YYYYMMDD_HHMMSS_<env>_<suffix>.html in .memory_audits/.
std::string default_report_path(const std::string& suffix) {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  localtime_r(&now, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%d_%H%M%S", &tm);
  fs::path dir = env_or("RAMFLOW_REPORTS_DIR", ".memory_audits");
  return (dir / (std::string(stamp) + "_" + report_env() + "_" + suffix + ".html")).string();
}

// The child waits on the pipe `hold` until the parent has moved it into the
// run's cgroup and closed its end, so nothing it allocates is charged elsewhere.
pid_t spawn(const std::vector<std::string>& argv, const std::string& agent_dir, const std::string& socket,
            const int hold[2]) {
  std::string pythonpath = agent_dir + "/sitecustomize:" + agent_dir;
  if (const char* old = std::getenv("PYTHONPATH"); old && *old) pythonpath += std::string(":") + old;
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = ::fork();
  if (pid != 0) return pid;
  ::close(hold[1]);
  char go;
  while (::read(hold[0], &go, 1) < 0 && errno == EINTR) {
  }
  ::close(hold[0]);
  ::setenv("PYTHONPATH", pythonpath.c_str(), 1);
  ::setenv("RAMFLOW_SOCKET", socket.c_str(), 1);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  ::execvp(args[0], args.data());
  std::fprintf(stderr, "ramflowd run: cannot execute %s: %s\n", args[0], std::strerror(errno));
  ::_exit(127);
}

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

int exit_code_of(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 1;
}

}  // namespace

int run_command(const CommandLine& cl, config::Config config) {
  std::optional<std::uint64_t> limit;
  if (!cl.memory_limit.empty()) {
    limit = config::parse_bytes(cl.memory_limit);
    if (!limit || *limit < (4u << 20)) {
      std::cerr << "ramflowd run: --memory-limit \"" << cl.memory_limit
                << "\" is not a memory quantity of at least 4Mi; give e.g. 300Mi or 1Gi\n";
      return 2;
    }
  }
  std::string agent_dir = find_agent_dir();
  if (agent_dir.empty()) {
    std::cerr << "ramflowd run: cannot find the Python agent; set RAMFLOW_AGENT_DIR to the directory holding "
                 "ramflow/ and sitecustomize/\n";
    return 2;
  }
  char tmpl[] = "/tmp/ramflow-run-XXXXXX";
  if (!::mkdtemp(tmpl)) {
    std::cerr << "ramflowd run: cannot create a private directory in /tmp: " << std::strerror(errno) << "\n";
    return 1;
  }
  std::string private_dir = tmpl;
  config.socket = private_dir + "/ramflow.sock";
  // A local run lasts seconds to minutes: sample and bucket finer than a sidecar
  // unless told otherwise, and listen on loopback only.
  auto given = [&cl](const char* name, const char* env) {
    for (const auto& option : cl.options) {
      if (option.first == name) return true;
    }
    return std::getenv(env) != nullptr;
  };
  if (!given("listen", "RAMFLOW_LISTEN")) config.listen = "127.0.0.1:0";
  if (!given("interval", "RAMFLOW_INTERVAL")) config.interval = std::chrono::milliseconds(250);
  if (!given("bucket", "RAMFLOW_BUCKET")) config.bucket = std::chrono::milliseconds(1000);

  // Scope: a memory cgroup of the command's own, else its processes summed.
  std::string why_not;
  std::unique_ptr<RunCgroup> cgroup = RunCgroup::create(config.cgroup_root, config.proc_root, limit, &why_not);
  if (cgroup) {
    config.cgroup_path = cgroup->path();
    config.scope = config::Config::Scope::kCgroup;
  } else if (limit) {
    std::cerr << "ramflowd run: --memory-limit needs a memory cgroup of the command's own, and " << why_not
              << " — run as root on a machine with a memory cgroup controller, or drop --memory-limit\n";
    fs::remove_all(private_dir);
    return 2;
  } else {
    config.scope = config::Config::Scope::kProcesses;
    spdlog::info("no memory cgroup of its own for the command ({}): its figures are its processes' memory, summed",
                 why_not);
  }

  sigset_t signals;
  sigemptyset(&signals);
  for (int s : kForwarded) sigaddset(&signals, s);
  sigaddset(&signals, SIGCHLD);
  sigset_t old_mask;
  pthread_sigmask(SIG_BLOCK, &signals, &old_mask);
  std::signal(SIGPIPE, SIG_IGN);

  DaemonRuntime runtime(config);
  runtime.cycle().set_agent_processes_only(true);
  runtime.cycle().keep_last_live_snapshot();
  if (std::string err = runtime.start(); !err.empty()) {
    spdlog::error("{}", err);
    fs::remove_all(private_dir);
    return 1;
  }
  std::cerr << "ramflow: live dashboard at " << runtime.url() << "/\n";

  int hold[2];
  if (::pipe2(hold, O_CLOEXEC) != 0) {
    spdlog::error("cannot create a pipe: {}", std::strerror(errno));
    runtime.stop();
    fs::remove_all(private_dir);
    return 1;
  }
  pid_t child = spawn(cl.child, agent_dir, config.socket, hold);
  ::close(hold[0]);
  if (child < 0) {
    spdlog::error("cannot fork: {}", std::strerror(errno));
    ::close(hold[1]);
    runtime.stop();
    fs::remove_all(private_dir);
    return 1;
  }
  if (std::string error; cgroup && !cgroup->add(child, &error)) {
    spdlog::warn("the command stays in ramflowd's cgroup: {}", error);
  }
  ::close(hold[1]);  // go

  int status = 0;
  while (true) {
    int sig = 0;
    sigwait(&signals, &sig);
    if (sig == SIGCHLD) {
      pid_t done = ::waitpid(child, &status, WNOHANG);
      if (done == child) break;
      continue;
    }
    ::kill(child, sig);  // forwarded; the child decides how to end
  }
  int code = exit_code_of(status);
  // The exits (and OOM kills) of the command's processes show in the next cycles.
  runtime.settle(3, 4 * config.interval + std::chrono::seconds(1));

  nlohmann::json report;
  try {
    report = runtime.final_report("run");
  } catch (const std::exception& e) {
    // E.g. the command ended before one sample could be taken.
    std::cerr << "ramflowd run: no report: " << e.what() << "\n";
  }
  runtime.stop();
  fs::remove_all(private_dir);
  if (report.is_null()) return code;

  std::string path = cl.report.empty() ? default_report_path(cl.suffix) : cl.report;
  std::error_code ec;
  if (fs::path(path).has_parent_path()) fs::create_directories(fs::path(path).parent_path(), ec);
  const bool json = ends_with(path, ".json");
  std::string body;
  try {
    body = json ? report.dump(2) + "\n" : exporter::standalone_html(report);
  } catch (const std::exception& e) {
    spdlog::error("cannot build the report: {}", e.what());
  }
  std::cout << executive_summary(report);
  if (!body.empty()) {
    std::ofstream out(path, std::ios::binary);
    out << body;
    if (out) std::cout << "\n" << (json ? "JSON" : "HTML") << " report: " << path << "\n";
    else std::cerr << "ramflowd run: cannot write the report to " << path << " (" << std::strerror(errno)
                   << ") — choose another path with --report\n";
  }
  return code;
}

}  // namespace ramflow::app
