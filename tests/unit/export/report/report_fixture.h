// A hand-built Snapshot: a Celery prefork group (main 4100 + children 4101,
// 4102, all with agents) alone in a v1 cgroup limited to 512 MiB, child 4101
// leaking through cached_search, one earlier OOM kill. Values in the comments
// of report_fixture.cpp; the tests pin what the report makes of them.
#pragma once

#include "model/snapshot.h"
#include "export/report/report_json.h"

namespace ramflow::exporter::testing {

inline constexpr double kMiB = 1024.0 * 1024.0;
inline constexpr double kNow = 1777889700.5;
inline constexpr const char* kCgroup = "/ramflow/test-4099";

model::Snapshot celery_snapshot();
ReportOptions test_options();

}  // namespace ramflow::exporter::testing
