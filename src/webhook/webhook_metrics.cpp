#include "webhook/webhook_metrics.h"

#include <prometheus/text_serializer.h>

#include "export/prometheus/family_builder.h"

namespace ramflow::webhook {

std::string render_webhook_metrics(const ReviewCounters& reviews, const CertificateStatus& certificate) {
  exporter::FamilyBuilder b;
  for (Outcome outcome : kAllOutcomes) {
    b.counter("ramflow_webhook_admission_reviews_total",
              "AdmissionReviews answered, by outcome; every outcome but injected let the pod through unchanged",
              {{"outcome", std::string(to_string(outcome))}}, static_cast<double>(reviews.get(outcome)));
  }
  b.declare("ramflow_webhook_certificate_expiry_timestamp_seconds",
            "When the serving certificate in use expires (seconds since the epoch)", prometheus::MetricType::Gauge);
  if (certificate.not_after > 0) {
    b.gauge("ramflow_webhook_certificate_expiry_timestamp_seconds", "", {},
            static_cast<double>(certificate.not_after));
  }
  const char* reloads_help = "Rereads of the changed certificate and key files, by result (failure keeps the previous pair)";
  b.counter("ramflow_webhook_certificate_reloads_total", reloads_help, {{"result", "success"}},
            static_cast<double>(certificate.reloads));
  b.counter("ramflow_webhook_certificate_reloads_total", reloads_help, {{"result", "failure"}},
            static_cast<double>(certificate.reload_failures));
  return prometheus::TextSerializer().Serialize(b.take());
}

}  // namespace ramflow::webhook
