// The webhook's /metrics: what it did with each AdmissionReview and the state
// of its certificate, described as a table in webhook_metrics.cpp (and nowhere
// else); docs/metrics.md is checked against it.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "export/prometheus/metric_spec.h"
#include "webhook/certificate_store.h"
#include "webhook/outcome.h"

namespace ramflow::webhook {

// Reviews by outcome. Thread-safe.
class ReviewCounters {
 public:
  void count(Outcome outcome) { counts_[static_cast<std::size_t>(outcome)].fetch_add(1, std::memory_order_relaxed); }
  std::uint64_t get(Outcome outcome) const {
    return counts_[static_cast<std::size_t>(outcome)].load(std::memory_order_relaxed);
  }

 private:
  std::array<std::atomic<std::uint64_t>, std::size(kAllOutcomes)> counts_{};
};

struct WebhookMetricSource {
  const ReviewCounters& reviews;
  const CertificateStatus& certificate;
};

const std::vector<exporter::MetricSpec<WebhookMetricSource>>& webhook_metric_table();

// Prometheus text format 0.0.4; every outcome is present from the start (at 0).
std::string render_webhook_metrics(const ReviewCounters& reviews, const CertificateStatus& certificate);

}  // namespace ramflow::webhook
