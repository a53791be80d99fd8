#include "app/webhook_command.h"

#include <csignal>
#include <iostream>

#include <spdlog/spdlog.h>

#include "app/logging.h"
#include "app/version.h"
#include "webhook/webhook_options.h"
#include "webhook/webhook_server.h"

namespace ramflow::app {
namespace {

constexpr int kExitUsage = 2;

}  // namespace

int webhook_command(const CommandLine& cl, char** envp) {
  webhook::WebhookOptions options;
  try {
    if (!cl.config_file.empty() || !cl.url.empty() || !cl.output.empty() || !cl.report.empty() ||
        !cl.prometheus.empty() || !cl.selector.empty()) {
      throw config::ConfigError(
          "ramflowd webhook takes only its own options (ramflowd --help); set them as flags or RAMFLOW_* variables");
    }
    options = webhook::parse_webhook_options(cl.options, envp, std::string("ghcr.io/ramflow/ramflow:") + kVersion);
  } catch (const config::ConfigError& e) {
    std::cerr << "ramflowd: " << e.what() << "\n";
    return kExitUsage;
  }
  setup_logging(options.log_format, options.log_level);

  // Threads inherit the mask: only this thread receives SIGTERM/SIGINT.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  webhook::WebhookServer server(std::move(options));
  if (std::string error = server.start(); !error.empty()) {
    spdlog::error("{}", error);
    return 1;
  }
  int sig = 0;
  sigwait(&signals, &sig);
  spdlog::info("received {}, shutting down", sig == SIGTERM ? "SIGTERM" : "SIGINT");
  server.stop();
  return 0;
}

}  // namespace ramflow::app
