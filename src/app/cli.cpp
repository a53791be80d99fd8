#include "app/cli.h"

#include <set>

#include "config/config.h"
#include "webhook/webhook_options.h"

namespace ramflow::app {
namespace {

const std::set<std::string> kCommands = {"serve", "run", "recommend", "report", "capture", "webhook"};
// Flags of the subcommands themselves (not daemon options).
const std::set<std::string> kCommandFlags = {
    "config", "url", "prometheus", "selector", "output", "report", "suffix", "memory-limit",
    "prometheus-token-file", "prometheus-user", "prometheus-password-file", "prometheus-tenant",
    "pid", "tasks", "seconds"};

}  // namespace

CommandLine parse_command_line(int argc, char** argv) {
  CommandLine cl;
  int i = 1;
  if (i < argc && kCommands.count(argv[i])) cl.command = argv[i++];
  for (; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--") {
      for (++i; i < argc; ++i) cl.child.emplace_back(argv[i]);
      break;
    }
    if (arg == "-h" || arg == "--help") {
      cl.help = true;
      continue;
    }
    if (arg == "--version") {
      cl.version = true;
      continue;
    }
    if (arg.rfind("--", 0) != 0) {
      throw config::ConfigError("unexpected argument \"" + arg + "\"; see ramflowd --help" +
                                (cl.command == "run" ? " (put the command to run after --)" : ""));
    }
    std::string name = arg.substr(2);
    std::string value;
    auto eq = name.find('=');
    if (eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
    } else {
      if (i + 1 >= argc) throw config::ConfigError("option --" + name + " needs a value; see ramflowd --help");
      value = argv[++i];
    }
    if (kCommandFlags.count(name)) {
      if (name == "config") cl.config_file = value;
      else if (name == "url") cl.url = value;
      else if (name == "prometheus") cl.prometheus = value;
      else if (name == "selector") cl.selector = value;
      else if (name == "prometheus-token-file") cl.prometheus_token_file = value;
      else if (name == "prometheus-user") cl.prometheus_user = value;
      else if (name == "prometheus-password-file") cl.prometheus_password_file = value;
      else if (name == "prometheus-tenant") cl.prometheus_tenant = value;
      else if (name == "output") cl.output = value;
      else if (name == "report") cl.report = value;
      else if (name == "suffix") cl.suffix = value;
      else if (name == "memory-limit") cl.memory_limit = value;
      else if (name == "pid") cl.pid = value;
      else if (name == "tasks") cl.tasks = value;
      else if (name == "seconds") cl.seconds = value;
    } else {
      cl.options.emplace_back(name, value);
    }
  }
  if (cl.command == "run" && cl.child.empty() && !cl.help && !cl.version) {
    throw config::ConfigError("ramflowd run needs a command after --, e.g. ramflowd run -- python3 worker.py");
  }
  return cl;
}

std::string usage() {
  return "ramflowd — memory forensics sidecar for Python workers (Celery) on Kubernetes\n"
         "\n"
         "Usage:\n"
         "  ramflowd [serve] [options]                 run the sidecar daemon (default)\n"
         "  ramflowd run [options] -- CMD [ARGS...]    run CMD with the agent injected, serve the live\n"
         "                                             dashboard, print a summary and write an HTML report\n"
         "      --report PATH    report file: .json writes the JSON report, else HTML (default\n"
         "                       .memory_audits/YYYYMMDD_HHMMSS_<env>_<suffix>.html)\n"
         "      --suffix NAME    report name suffix (default audit)\n"
         "      --memory-limit Q rehearse a container limit (512Mi, 1Gi): CMD runs in its own memory cgroup\n"
         "                       with that limit and the real OOM killer acts at it (needs root)\n"
         "  ramflowd recommend --url http://HOST:PORT [--output text|json]\n"
         "  ramflowd recommend --prometheus URL --selector '{namespace=\"...\"}' [--output text|json]\n"
         "                                             recommended memory request/limit and Celery settings\n"
         "      --prometheus-token-file FILE       send Authorization: Bearer <token in FILE>\n"
         "      --prometheus-user USER             basic auth, with --prometheus-password-file FILE\n"
         "      --prometheus-tenant ID             send X-Scope-OrgID: ID (Mimir, Cortex, Thanos Receive)\n"
         "  ramflowd report --url http://HOST:PORT --output FILE.html|FILE.json\n"
         "                                             save the report of a running sidecar; prints\n"
         "                                             its latest allocation-site captures\n"
         "  ramflowd capture --pid N [--tasks N | --seconds T] [--url unix:PATH] [--output text|json]\n"
         "                                             record the allocation sites that grow in worker N for one\n"
         "                                             window (tracemalloc, through its agent) and print them; asks\n"
         "                                             the ramflowd serving here on its control socket\n"
         "  ramflowd webhook --tls-cert FILE --tls-key FILE [options]\n"
         "                                             the admission webhook that adds ramflow to annotated pods\n"
         "  ramflowd --version | --help\n"
         "\n"
         "Options (precedence: flags, then RAMFLOW_* environment, then the --config YAML file, then defaults):\n"
         "  --config FILE                     YAML file of the options below (env RAMFLOW_CONFIG)\n" +
         config::options_help() +
         "\n"
         "Options of ramflowd webhook (docs/kubernetes.md):\n" +
         webhook::webhook_options_help();
}

}  // namespace ramflow::app
