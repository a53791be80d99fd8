#include "webhook/admission_review.h"

#include <nlohmann/json.hpp>

#include "webhook/base64.h"

namespace ramflow::webhook {
namespace {

using nlohmann::json;

// Kubernetes objects nest about 15 deep; a far deeper body is not one, and
// parsing it whole would only cost memory.
constexpr int kMaxDepth = 64;

json parse_bounded(std::string_view body, bool& too_deep) {
  json::parser_callback_t keep = [&too_deep](int depth, json::parse_event_t, json&) {
    if (depth > kMaxDepth) too_deep = true;
    return !too_deep;
  };
  return json::parse(body, keep, /*allow_exceptions=*/false);
}

std::string text_or(const json& object, const char* key, const std::string& fallback = "") {
  if (!object.is_object()) return fallback;
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : fallback;
}

// "namespace/name", or "namespace/generateName*" for a pod a controller is creating.
std::string describe_object(const json& request) {
  const json& object = request.contains("object") ? request["object"] : json();
  const json& metadata = object.is_object() && object.contains("metadata") ? object["metadata"] : json();
  std::string ns = text_or(request, "namespace", text_or(metadata, "namespace", "?"));
  std::string name = text_or(request, "name", text_or(metadata, "name"));
  if (name.empty()) name = text_or(metadata, "generateName") + "*";
  return ns + "/" + name;
}

ReviewResult answer(const std::string& api_version, const std::string& uid, ReviewResult result,
                    const json& patch = json()) {
  json response = {{"uid", uid}, {"allowed", true}};
  if (!patch.is_null() && !patch.empty()) {
    response["patchType"] = "JSONPatch";
    response["patch"] = base64_encode(patch.dump());
  }
  if (!result.warnings.empty()) response["warnings"] = result.warnings;
  result.body = json{{"apiVersion", api_version}, {"kind", "AdmissionReview"}, {"response", response}}.dump();
  return result;
}

ReviewResult reject_body(std::string reason) {
  ReviewResult r;
  r.http_status = 400;
  r.outcome = Outcome::kMalformedRequest;
  r.reason = std::move(reason);
  r.body = json{{"error", r.reason}}.dump();
  return r;
}

}  // namespace

ReviewResult review_admission(std::string_view body, Scope scope, const InjectionSettings& settings) {
  bool too_deep = false;
  json review = parse_bounded(body, too_deep);
  if (too_deep) return reject_body("the body nests deeper than " + std::to_string(kMaxDepth) + " levels");
  if (review.is_discarded()) return reject_body("the body is not JSON");
  if (!review.is_object()) return reject_body("the body is not a JSON object");
  const std::string api_version = text_or(review, "apiVersion");
  if (api_version != "admission.k8s.io/v1" && api_version != "admission.k8s.io/v1beta1") {
    return reject_body("apiVersion is \"" + api_version + "\", not admission.k8s.io/v1");
  }
  if (text_or(review, "kind") != "AdmissionReview") return reject_body("kind is not AdmissionReview");
  const json& request = review.contains("request") ? review["request"] : json();
  const std::string uid = text_or(request, "uid");
  if (uid.empty()) return reject_body("the AdmissionReview has no request.uid");

  ReviewResult result;
  result.object = describe_object(request);
  const json& kind = request.contains("kind") ? request["kind"] : json();
  const std::string sub_resource = text_or(request, "subResource");
  if (text_or(kind, "group", "?") != "" || text_or(kind, "kind") != "Pod" || !sub_resource.empty()) {
    result.outcome = Outcome::kNotAPod;
    result.reason = "the object is " + text_or(kind, "group") + "/" + text_or(kind, "kind", "?") +
                    (sub_resource.empty() ? "" : " subresource " + sub_resource) +
                    "; the webhook's rules should send only pods CREATE";
    return answer(api_version, uid, result);
  }
  const std::string operation = text_or(request, "operation", "?");
  if (operation != "CREATE") {
    result.outcome = Outcome::kNotCreate;
    result.reason = "operation " + operation + "; ramflow is added only when a pod is created";
    return answer(api_version, uid, result);
  }
  const json& pod = request.contains("object") ? request["object"] : json();
  Injection injection;
  try {
    injection = plan_injection(pod, scope, settings);
  } catch (const json::exception& e) {
    // A value of a type no Pod has, deeper than the shape check looks.
    injection = Injection{};
    injection.outcome = Outcome::kInvalidPod;
    injection.reason = std::string("the pod holds a value of an unexpected type: ") + e.what();
  }
  result.outcome = injection.outcome;
  result.reason = std::move(injection.reason);
  result.worker = std::move(injection.worker);
  result.warnings = std::move(injection.warnings);
  result.operations = injection.patch.size();
  return answer(api_version, uid, std::move(result), injection.patch);
}

}  // namespace ramflow::webhook
