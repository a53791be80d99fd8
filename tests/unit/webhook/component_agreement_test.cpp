// The webhook injects what the kustomize component adds
// (deploy/components/ramflow-sidecar and ../plain-sidecar), field for field.
// tests/helm/compare.test.mjs holds the component to the Helm chart, so the
// three agree.
#include <algorithm>
#include <cstdio>
#include <optional>
#include <cstdlib>

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include "review_fixture.h"
#include "webhook/injected_objects.h"
#include "webhook/pod_injection.h"

namespace ramflow::webhook {
namespace {

using nlohmann::json;

const std::string kComponents = std::string(RAMFLOW_SOURCE_DIR) + "/deploy/components/";

// YAML as the API server reads it: quoted scalars are strings, plain ones typed.
json to_json(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map: {
      json out = json::object();
      for (const auto& kv : node) out[kv.first.as<std::string>()] = to_json(kv.second);
      return out;
    }
    case YAML::NodeType::Sequence: {
      json out = json::array();
      for (const auto& item : node) out.push_back(to_json(item));
      return out;
    }
    case YAML::NodeType::Scalar: {
      const std::string& text = node.Scalar();
      if (node.Tag() == "!") return text;
      if (text == "true" || text == "false") return text == "true";
      if (!text.empty() && text.find_first_not_of("0123456789") == std::string::npos) return std::stoll(text);
      return text;
    }
    default:
      return nullptr;
  }
}

json component_file(const std::string& path) { return to_json(YAML::LoadFile(kComponents + path)); }

TEST(ComponentAgreement, TheNativeSidecarAgentCopyAndVolumesAreTheComponents) {
  const json patch = component_file("ramflow-sidecar/sidecar-patch.yaml");
  const json& spec = patch["spec"]["template"]["spec"];
  const InjectionSettings s = testing::chart_settings();
  ASSERT_EQ(spec["initContainers"].size(), 2u);
  EXPECT_EQ(agent_copy_container(s), spec["initContainers"][0]);
  // The component names the worker "worker" until its JSON patch copies the real name in.
  EXPECT_EQ(sidecar_container(s, "worker", {}), spec["initContainers"][1]);
  EXPECT_EQ(injected_volumes(), spec["volumes"]);
  EXPECT_EQ(spec["shareProcessNamespace"], true);
}

TEST(ComponentAgreement, ThePlainSidecarHasThePlainSidecarComponentsHook) {
  const json ops = component_file("plain-sidecar/plain-sidecar-patch.yaml");
  InjectionSettings s = testing::chart_settings();
  s.native_sidecar = false;
  const json plain = sidecar_container(s, "worker", {});
  EXPECT_FALSE(plain.contains("restartPolicy"));
  bool compared = false;
  for (const auto& op : ops) {
    if (op["path"] == "/spec/template/spec/containers/0/lifecycle") {
      EXPECT_EQ(plain["lifecycle"], op["value"]);
      compared = true;
    }
  }
  EXPECT_TRUE(compared) << "plain-sidecar-patch.yaml no longer sets the lifecycle hook";
}

// `kubectl kustomize DIR`, or nullopt (with the reason) when kubectl is missing.
std::optional<std::string> kustomize(const std::string& dir, std::string& why) {
  if (std::system("command -v kubectl >/dev/null 2>&1") != 0) {
    why = "kubectl is not on PATH";
    return std::nullopt;
  }
  std::string out;
  FILE* pipe = ::popen(("kubectl kustomize " + dir + " 2>&1").c_str(), "r");
  char buffer[4096];
  while (std::size_t n = std::fread(buffer, 1, sizeof buffer, pipe)) out.append(buffer, n);
  if (::pclose(pipe) != 0) {
    why = "kubectl kustomize failed: " + out;
    return std::nullopt;
  }
  return out;
}

json sorted_by_name(json list) {
  std::sort(list.begin(), list.end(), [](const json& a, const json& b) { return a["name"] < b["name"]; });
  return list;
}

// The component and the webhook, given the same Deployment of a user's, make
// the same pod: same init containers in the same order, same containers (the
// worker's merged PYTHONPATH, socket, mounts; the other container untouched),
// same volumes.
TEST(ComponentAgreement, TheComponentAndTheWebhookMakeTheSamePodOfAUsersDeployment) {
  const std::string dir = std::string(RAMFLOW_WEBHOOK_TEST_DIR) + "/kustomize";
  std::string why;
  auto rendered = kustomize(dir, why);
  if (!rendered) {
    if (const char* ci = std::getenv("CI"); ci && std::string(ci) == "true") FAIL() << why;
    GTEST_SKIP() << why;
  }
  json kustomized;
  for (const auto& doc : YAML::LoadAll(*rendered)) {
    json object = to_json(doc);
    ASSERT_NE(object.value("kind", ""), "SidecarSettings") << "the component's local settings must not be output";
    if (object.value("kind", "") == "Deployment") kustomized = object["spec"]["template"];
  }
  ASSERT_TRUE(kustomized.is_object()) << *rendered;

  const json deployment = to_json(YAML::LoadFile(dir + "/deployment.yaml"));
  Injection injection = plan_injection(deployment["spec"]["template"], Scope::kLabelledNamespace, testing::chart_settings());
  ASSERT_EQ(injection.outcome, Outcome::kInjected) << injection.reason;
  const json webhook = deployment["spec"]["template"].patch(injection.patch);

  const json& k = kustomized["spec"];
  const json& w = webhook["spec"];
  EXPECT_EQ(k["initContainers"], w["initContainers"]);
  EXPECT_EQ(k["containers"], w["containers"]);
  EXPECT_EQ(sorted_by_name(k["volumes"]), sorted_by_name(w["volumes"]));
  EXPECT_EQ(k["shareProcessNamespace"], w["shareProcessNamespace"]);
  EXPECT_EQ(k["securityContext"], w["securityContext"]);
}

}  // namespace
}  // namespace ramflow::webhook
