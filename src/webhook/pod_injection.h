// Decides whether a Pod gets ramflow and builds the RFC 6902 JSON Patch that
// adds it. Pure: no I/O, no clock; the same pod and settings give the same patch.
//
// The patch only adds (and prepends the agent to an existing PYTHONPATH value):
// it never removes or reorders what the pod has, and it skips every piece the
// pod already holds, so a pod that went through it once gets an empty patch.
//
//   Injection i = plan_injection(pod, Scope::kAnnotatedPods, settings);
//   if (i.outcome == Outcome::kInjected) respond_with(i.patch);
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "webhook/injection_settings.h"
#include "webhook/outcome.h"

namespace ramflow::webhook {

inline constexpr const char* kInjectAnnotation = "ramflow.io/inject";
inline constexpr const char* kContainerAnnotation = "ramflow.io/container";
inline constexpr const char* kInjectedLabel = "ramflow.io/injected";

// Which MutatingWebhookConfiguration entry asked: pods that opt in one by one
// (annotation "true"), or every pod of a namespace labelled ramflow.io/inject=true
// (annotation "false" opts out).
enum class Scope { kAnnotatedPods, kLabelledNamespace };

struct Injection {
  Outcome outcome = Outcome::kNotRequested;
  std::string reason;                            // why nothing was injected; empty when injected
  nlohmann::json patch = nlohmann::json::array();  // RFC 6902 operations
  std::string worker;                            // the container the agent goes into
  std::vector<std::string> warnings;             // for the AdmissionResponse and the log
};

Injection plan_injection(const nlohmann::json& pod, Scope scope, const InjectionSettings& settings);

}  // namespace ramflow::webhook
