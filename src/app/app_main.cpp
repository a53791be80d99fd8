#include "app/app_main.h"

#include <csignal>
#include <iostream>

#include <spdlog/spdlog.h>

#include "app/capture_command.h"
#include "app/cli.h"
#include "app/daemon_runtime.h"
#include "app/load_config.h"
#include "app/client_commands.h"
#include "app/logging.h"
#include "app/run_command.h"
#include "app/version.h"
#include "app/webhook_command.h"

namespace ramflow::app {
namespace {

constexpr int kExitUsage = 2;

// SIGTERM and SIGINT end the daemon (state saved, socket removed); SIGHUP,
// SIGUSR1 and SIGUSR2, whose default action would kill it, are logged and
// ignored: the configuration is read once, at start (docs/security.md).
constexpr int kHandled[] = {SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGUSR2};

const char* signal_name(int sig) {
  switch (sig) {
    case SIGTERM: return "SIGTERM";
    case SIGINT: return "SIGINT";
    case SIGHUP: return "SIGHUP";
    case SIGUSR1: return "SIGUSR1";
    case SIGUSR2: return "SIGUSR2";
    default: return "a signal";
  }
}

int serve(const config::Config& config) {
  // Threads inherit the mask: only this thread receives these signals.
  sigset_t signals;
  sigemptyset(&signals);
  for (int s : kHandled) sigaddset(&signals, s);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
  DaemonRuntime runtime(config);
  if (std::string err = runtime.start(); !err.empty()) {
    spdlog::error("{}", err);
    return 1;
  }
  int sig = 0;
  while (sigwait(&signals, &sig) == 0 && sig != SIGTERM && sig != SIGINT) {
    spdlog::info("received {}: ignored (ramflowd reads its configuration at start; restart it to apply a change)",
                 signal_name(sig));
  }
  spdlog::info("received {}, shutting down", signal_name(sig));
  runtime.stop();
  return 0;
}

}  // namespace

int main(int argc, char** argv, char** envp) {
  CommandLine cl;
  config::Config config;
  try {
    cl = parse_command_line(argc, argv);
    if (cl.help) {
      std::cout << usage();
      return 0;
    }
    if (cl.version) {
      std::cout << "ramflowd " << kVersion << "\n";
      return 0;
    }
    if (cl.command == "webhook") return webhook_command(cl, envp);
    config = load_config(cl, envp);
  } catch (const config::ConfigError& e) {
    std::cerr << "ramflowd: " << e.what() << "\n";
    return kExitUsage;
  }
  setup_logging(config.log_format, config.log_level);
  if (cl.command == "serve") return serve(config);
  if (cl.command == "run") return run_command(cl, config);
  if (cl.command == "recommend") return recommend_command(cl);
  if (cl.command == "report") return report_command(cl);
  if (cl.command == "capture") return capture_command(cl, config);
  std::cerr << "ramflowd: the " << cl.command << " command is not available in this build yet\n";
  return kExitUsage;
}

}  // namespace ramflow::app
