#include "app/report_options.h"

#include "analysis/units.h"

namespace ramflow::app {

exporter::ReportOptions report_options(const config::Config& config) {
  exporter::ReportOptions o;
  o.thresholds.medium_bytes = config.leak_medium_mib * analysis::kMiB;
  o.thresholds.high_bytes = config.leak_high_mib * analysis::kMiB;
  o.greedy_bytes_per_second = config.greedy_mib_per_second * analysis::kMiB;
  o.headroom = config.headroom;
  o.restart_horizon_seconds = static_cast<double>(config.restart_horizon.count());
  o.show_command_lines = config.show_command_lines;
  return o;
}

}  // namespace ramflow::app
