// Helpers of the webhook tests: AdmissionReview fixtures shaped like the API
// server's, the webhook's answer decoded, and its patch applied with
// nlohmann::json::patch() — an RFC 6902 implementation independent of ours.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "webhook/admission_review.h"
#include "webhook/injection_settings.h"

namespace ramflow::webhook::testing {

nlohmann::json load_json(const std::string& path);
nlohmann::json fixture(const std::string& name);  // tests/unit/webhook/fixtures/NAME

// The webhook's settings as the chart's defaults, with the chart's image.
InjectionSettings chart_settings();

struct Answer {
  ReviewResult result;
  nlohmann::json response;  // the AdmissionReview's "response"
  nlohmann::json patch;     // the decoded JSONPatch; null when there is none
  nlohmann::json object;    // request.object with the patch applied
};

Answer review(const nlohmann::json& admission_review, Scope scope = Scope::kAnnotatedPods,
              const InjectionSettings& settings = chart_settings());

// The review's request.object replaced by `pod`.
nlohmann::json with_object(nlohmann::json admission_review, const nlohmann::json& pod);

// Compares `actual` with tests/unit/webhook/expected/NAME; with
// RAMFLOW_UPDATE_GOLDEN=1 in the environment, writes it there instead.
void expect_golden(const nlohmann::json& actual, const std::string& name);

}  // namespace ramflow::webhook::testing
