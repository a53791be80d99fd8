// The command line: `ramflowd [serve|run|recommend|report|webhook] [options] [-- CMD ARGS...]`.
#pragma once

#include <string>
#include <vector>

namespace ramflow::app {

struct CommandLine {
  std::string command = "serve";
  std::vector<std::pair<std::string, std::string>> options;  // daemon options, in order
  std::string config_file;                                   // --config
  std::string url;                                           // recommend/report --url
  std::string prometheus;                                    // recommend --prometheus
  std::string selector;                                      // recommend --selector
  std::string output;                                        // recommend/report --output
  std::string report;                                        // run --report
  std::string suffix = "audit";                              // run --suffix
  std::vector<std::string> child;                            // run -- CMD ARGS...
  bool help = false;
  bool version = false;
};

// Throws config::ConfigError with a message naming the bad argument.
CommandLine parse_command_line(int argc, char** argv);
std::string usage();

}  // namespace ramflow::app
