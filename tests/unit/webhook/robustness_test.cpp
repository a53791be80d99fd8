// Whatever shape a pod has, the webhook decides without an exception, and any
// patch it returns applies to that very object and leaves nothing to add. Tens of thousands of pods made
// from the fixtures by putting each of a dozen odd values, or nothing, at each
// place in turn; the API server sends typed objects, but a webhook bug must
// never stop a deployment.
#include <gtest/gtest.h>

#include "review_fixture.h"
#include "webhook/pod_injection.h"

namespace ramflow::webhook {
namespace {

using nlohmann::json;

// Every place in the object (objects' members and array elements), as JSON pointers.
void places(const json& value, const json::json_pointer& at, std::vector<json::json_pointer>& out) {
  if (value.is_object()) {
    for (const auto& [k, v] : value.items()) {
      out.push_back(at / k);
      places(v, at / k, out);
    }
  } else if (value.is_array()) {
    for (std::size_t i = 0; i < value.size(); ++i) {
      out.push_back(at / i);
      places(value[i], at / i, out);
    }
  }
}

TEST(Robustness, AnyPodShapeIsAnsweredAndEveryPatchApplies) {
  const json odd_values[] = {json(nullptr), json(true), json(-1), json(9977), json(1.5), json(""), json("true"),
                             json("/run/ramflow"), json::array(), json::array({1, "x"}), json::object(),
                             json({{"name", "ramflow"}})};
  const InjectionSettings settings = testing::chart_settings();
  std::size_t reviews = 0;
  std::size_t injected = 0;
  // The fixtures, and one that also holds every field the webhook reads.
  std::vector<json> bases = {testing::fixture("replicaset-pod.json"), testing::fixture("statefulset-pod-named-worker.json")};
  json full = bases[0];
  json& spec = full["request"]["object"]["spec"];
  spec["hostPID"] = false;
  spec["hostNetwork"] = false;
  spec["shareProcessNamespace"] = true;
  spec["containers"][0]["env"].push_back({{"name", "RAMFLOW_SOCKET"}, {"value", "/run/ramflow/ramflow.sock"}});
  spec["containers"][0]["envFrom"] = json::array({{{"configMapRef", {{"name", "shop-env"}}}}});
  spec["containers"][0]["securityContext"]["runAsUser"] = 1000;
  spec["containers"][0]["securityContext"]["runAsNonRoot"] = true;
  spec["containers"][0]["volumeMounts"].push_back({{"name", "ramflow-socket"}, {"mountPath", "/run/ramflow"}});
  spec["initContainers"] = json::array({{{"name", "migrate"}, {"image", "x"}, {"ports", {{{"containerPort", 8000}}}}}});
  full["request"]["object"]["metadata"]["annotations"]["ramflow.io/container"] = "celery";
  bases.push_back(full);
  for (const json& review : bases) {
    const json& pod = review["request"]["object"];
    std::vector<json::json_pointer> where;
    places(pod, json::json_pointer(), where);
    for (const auto& at : where) {
      for (std::size_t variant = 0; variant <= std::size(odd_values); ++variant) {
        json changed = pod;
        if (variant == std::size(odd_values)) {
          const auto parent = at.parent_pointer();
          if (changed[parent].is_object()) changed[parent].erase(at.back());
          else changed[parent].erase(std::stoul(at.back()));
        } else {
          changed[at] = odd_values[variant];
        }
        // plan_injection itself, so an exception fails the test (review_admission would
        // turn it into invalid_pod); the namespace scope injects without the annotation.
        Injection first;
        ASSERT_NO_THROW(first = plan_injection(changed, Scope::kLabelledNamespace, settings))
            << at.to_string() << " = " << changed.value(at, json()).dump();
        ++reviews;
        if (first.outcome != Outcome::kInjected) continue;
        ++injected;
        json patched;
        ASSERT_NO_THROW(patched = changed.patch(first.patch)) << at.to_string() << ": " << first.patch.dump();
        EXPECT_EQ(plan_injection(patched, Scope::kLabelledNamespace, settings).outcome, Outcome::kAlreadyInjected)
            << at.to_string() << " = " << changed.value(at, json()).dump() << ": injecting twice changed the pod again";
      }
    }
  }
  EXPECT_GT(reviews, 2000u);
  EXPECT_GT(injected, reviews / 4) << "most single changes leave an injectable pod";
}

}  // namespace
}  // namespace ramflow::webhook
