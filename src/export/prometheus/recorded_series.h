// The fleet history `ramflowd recommend --prometheus` reads: series recorded by
// deploy/prometheus/ramflow-rules.yaml (group ramflow-fleet.rules), named here
// once. tests/unit/export/prometheus/metrics_doc_test.cpp checks that the rules
// record each of them, from a metric of metric_table().
#pragma once

#include <string_view>

namespace ramflow::exporter::recorded {

// Per workload (cluster, namespace, workload): worst over its replicas and 7 days.
inline constexpr std::string_view kPeak = "namespace_workload:ramflow_memory_peak_bytes:max_7d";
inline constexpr std::string_view kLimit = "namespace_workload:ramflow_recommended_memory_limit_bytes:max_7d";
inline constexpr std::string_view kRequest = "namespace_workload:ramflow_recommended_memory_request_bytes:max_7d";
inline constexpr std::string_view kCeleryMaxMemoryPerChild =
    "namespace_workload:ramflow_recommended_celery_max_memory_per_child_bytes:min_7d";

inline constexpr std::string_view kAll[] = {kPeak, kLimit, kRequest, kCeleryMaxMemoryPerChild};

}  // namespace ramflow::exporter::recorded
