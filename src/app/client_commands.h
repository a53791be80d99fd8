// Commands that read a running sidecar or Prometheus over HTTP:
//   ramflowd recommend --url URL | --prometheus URL --selector SEL [--output text|json]
//   ramflowd report --url URL --output FILE.html|FILE.json
#pragma once

#include "app/cli.h"

namespace ramflow::app {

int recommend_command(const CommandLine& cl);
int report_command(const CommandLine& cl);

}  // namespace ramflow::app
