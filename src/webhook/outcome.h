// What the webhook did with one AdmissionReview. Every outcome but `injected`
// lets the object through unchanged; the value is the `outcome` label of
// ramflow_webhook_admission_reviews_total (docs/metrics.md), a bounded set.
#pragma once

#include <string_view>

namespace ramflow::webhook {

enum class Outcome {
  kInjected,           // a patch was returned
  kAlreadyInjected,    // everything ramflow adds is there already
  kNotRequested,       // no opt-in, or opted out with ramflow.io/inject: "false"
  kNotAPod,            // another kind or a pod subresource
  kNotCreate,          // UPDATE, DELETE, CONNECT
  kMalformedRequest,   // not an AdmissionReview
  kInvalidPod,         // the object is not shaped like a Pod
  kBadAnnotation,      // a ramflow.io/ annotation with a value ramflow does not understand
  kUnknownContainer,   // ramflow.io/container names no container, or the pod has none to watch
  kConflict,           // the pod holds something ramflow's pieces would clash with
};

constexpr std::string_view to_string(Outcome outcome) {
  switch (outcome) {
    case Outcome::kInjected: return "injected";
    case Outcome::kAlreadyInjected: return "already_injected";
    case Outcome::kNotRequested: return "not_requested";
    case Outcome::kNotAPod: return "not_a_pod";
    case Outcome::kNotCreate: return "not_create";
    case Outcome::kMalformedRequest: return "malformed_request";
    case Outcome::kInvalidPod: return "invalid_pod";
    case Outcome::kBadAnnotation: return "bad_annotation";
    case Outcome::kUnknownContainer: return "unknown_container";
    case Outcome::kConflict: return "conflict";
  }
  return "unknown";
}

inline constexpr Outcome kAllOutcomes[] = {
    Outcome::kInjected,   Outcome::kAlreadyInjected, Outcome::kNotRequested,     Outcome::kNotAPod,
    Outcome::kNotCreate,  Outcome::kMalformedRequest, Outcome::kInvalidPod,      Outcome::kBadAnnotation,
    Outcome::kUnknownContainer, Outcome::kConflict,
};

// Outcomes that mean "bad or unexpected": logged at warning level.
constexpr bool is_unexpected(Outcome outcome) {
  return outcome != Outcome::kInjected && outcome != Outcome::kAlreadyInjected &&
         outcome != Outcome::kNotRequested;
}

}  // namespace ramflow::webhook
