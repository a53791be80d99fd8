// The command line: `ramflowd [serve|run|recommend|report|capture|webhook] [options] [-- CMD ARGS...]`.
#pragma once

#include <string>
#include <vector>

namespace ramflow::app {

struct CommandLine {
  std::string command = "serve";
  std::vector<std::pair<std::string, std::string>> options;  // daemon options, in order
  std::string config_file;                                   // --config
  std::string url;                                           // recommend/report --url, capture --url unix:PATH
  std::string pid;                                           // capture --pid
  std::string tasks;                                         // capture --tasks
  std::string seconds;                                       // capture --seconds
  std::string prometheus;                                    // recommend --prometheus
  std::string selector;                                      // recommend --selector
  std::string prometheus_token_file;                         // recommend --prometheus-token-file
  std::string prometheus_user;                               // recommend --prometheus-user
  std::string prometheus_password_file;                      // recommend --prometheus-password-file
  std::string prometheus_tenant;                             // recommend --prometheus-tenant (X-Scope-OrgID)
  std::string output;                                        // recommend/report --output
  std::string report;                                        // run --report
  std::string suffix = "audit";                              // run --suffix
  std::string memory_limit;                                  // run --memory-limit
  std::vector<std::string> child;                            // run -- CMD ARGS...
  bool help = false;
  bool version = false;
};

// Throws config::ConfigError with a message naming the bad argument.
CommandLine parse_command_line(int argc, char** argv);
std::string usage();

}  // namespace ramflow::app
