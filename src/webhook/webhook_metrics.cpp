#include "webhook/webhook_metrics.h"

namespace ramflow::webhook {
namespace {

using exporter::MetricType;
using exporter::Samples;

const std::vector<exporter::MetricSpec<WebhookMetricSource>> kTable = {
    {"ramflow_webhook_admission_reviews_total", MetricType::counter,
     "AdmissionReviews answered, by outcome; every outcome but injected let the pod through unchanged", {"outcome"},
     [](const WebhookMetricSource& s, Samples& out) {
       for (Outcome outcome : kAllOutcomes) {
         out.push_back({{std::string(to_string(outcome))}, static_cast<double>(s.reviews.get(outcome))});
       }
     }},
    {"ramflow_webhook_certificate_expiry_timestamp_seconds", MetricType::gauge,
     "When the serving certificate in use expires (seconds since the epoch)", {},
     [](const WebhookMetricSource& s, Samples& out) {
       if (s.certificate.not_after > 0) out.push_back({{}, static_cast<double>(s.certificate.not_after)});
     }},
    {"ramflow_webhook_certificate_reloads_total", MetricType::counter,
     "Rereads of the changed certificate and key files, by result (failure keeps the previous pair)", {"result"},
     [](const WebhookMetricSource& s, Samples& out) {
       out.push_back({{"success"}, static_cast<double>(s.certificate.reloads)});
       out.push_back({{"failure"}, static_cast<double>(s.certificate.reload_failures)});
     }},
};

}  // namespace

const std::vector<exporter::MetricSpec<WebhookMetricSource>>& webhook_metric_table() { return kTable; }

std::string render_webhook_metrics(const ReviewCounters& reviews, const CertificateStatus& certificate) {
  return exporter::render_table(kTable, WebhookMetricSource{reviews, certificate});
}

}  // namespace ramflow::webhook
