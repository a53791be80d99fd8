// The report options a configuration implies: the thresholds, headroom and
// restart horizon in force; the other fields keep their defaults.
#pragma once

#include "config/config.h"
#include "export/report/report_json.h"

namespace ramflow::app {

exporter::ReportOptions report_options(const config::Config& config);

}  // namespace ramflow::app
