// One admission.k8s.io AdmissionReview in, one out. Pure: the HTTP server
// hands the request body over and sends back what this returns.
//
// Every review with a request uid is answered `allowed: true` (with a
// base64 JSONPatch when ramflow is injected): ramflow must never stop a
// deployment. A body that is not an AdmissionReview cannot be answered for
// lack of a uid: it gets HTTP 400, which the API server treats as a webhook
// failure and, with failurePolicy: Ignore, admits the pod unchanged.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "webhook/injection_settings.h"
#include "webhook/outcome.h"
#include "webhook/pod_injection.h"

namespace ramflow::webhook {

struct ReviewResult {
  int http_status = 200;
  std::string body;  // application/json
  Outcome outcome = Outcome::kMalformedRequest;
  std::string reason;    // why nothing was injected (for the log)
  std::string object;    // "namespace/name" or "namespace/generateName*", for the log
  std::string worker;    // the container the agent went into, when injected
  std::size_t operations = 0;
  std::vector<std::string> warnings;
};

ReviewResult review_admission(std::string_view body, Scope scope, const InjectionSettings& settings);

}  // namespace ramflow::webhook
