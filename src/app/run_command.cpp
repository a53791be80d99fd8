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
#include "app/summary.h"
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

pid_t spawn(const std::vector<std::string>& argv, const std::string& agent_dir, const std::string& socket,
            const sigset_t& parent_mask) {
  std::string pythonpath = agent_dir + "/sitecustomize:" + agent_dir;
  if (const char* old = std::getenv("PYTHONPATH"); old && *old) pythonpath += std::string(":") + old;
  pid_t pid = ::fork();
  if (pid != 0) return pid;
  ::setenv("PYTHONPATH", pythonpath.c_str(), 1);
  ::setenv("RAMFLOW_SOCKET", socket.c_str(), 1);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  (void)parent_mask;
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  ::execvp(args[0], args.data());
  std::fprintf(stderr, "ramflowd run: cannot execute %s: %s\n", args[0], std::strerror(errno));
  ::_exit(127);
}

int exit_code_of(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 1;
}

}  // namespace

int run_command(const CommandLine& cl, config::Config config) {
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

  pid_t child = spawn(cl.child, agent_dir, config.socket, old_mask);
  if (child < 0) {
    spdlog::error("cannot fork: {}", std::strerror(errno));
    runtime.stop();
    fs::remove_all(private_dir);
    return 1;
  }

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
  std::string html;
  try {
    html = exporter::standalone_html(report);
  } catch (const std::exception& e) {
    spdlog::error("cannot build the HTML report: {}", e.what());
  }
  std::cout << executive_summary(report);
  if (!html.empty()) {
    std::ofstream out(path, std::ios::binary);
    out << html;
    if (out) std::cout << "\nHTML report: " << path << "\n";
    else std::cerr << "ramflowd run: cannot write the report to " << path << " (" << std::strerror(errno)
                   << ") — choose another path with --report\n";
  }
  return code;
}

}  // namespace ramflow::app
