// The injection webhook on AdmissionReviews shaped like the API server's: the
// returned JSONPatch is applied with nlohmann::json::patch() (an RFC 6902
// implementation independent of the one that built it) and the resulting
// pods compared with expected objects (tests/unit/webhook/expected/).
#include <algorithm>
#include <functional>

#include <gtest/gtest.h>

#include "review_fixture.h"
#include "webhook/pod_injection.h"

namespace ramflow::webhook {
namespace {

using nlohmann::json;
using testing::Answer;
using testing::chart_settings;
using testing::fixture;
using testing::review;
using testing::with_object;

const char* kAgent = "/ramflow-agent/sitecustomize";

const json* find_named(const json& list, const std::string& name) {
  for (const auto& item : list) {
    if (item.value("name", "") == name) return &item;
  }
  return nullptr;
}

std::vector<std::string> names(const json& list) {
  std::vector<std::string> out;
  for (const auto& item : list) out.push_back(item["name"]);
  return out;
}

std::string env_value(const json& container, const std::string& name) {
  const json* e = find_named(container["env"], name);
  return e ? e->value("value", "<no value>") : "<absent>";
}

// The first place where `after` lost or changed something of `before`; empty
// when it kept everything: objects keep every key, lists every element (named
// elements found by name), scalars their value.
std::string first_loss(const json& before, const json& after, const std::string& at) {
  if (before.is_object()) {
    if (!after.is_object()) return at + " (no longer an object)";
    for (const auto& [k, v] : before.items()) {
      if (!after.contains(k)) return at + "/" + k;
      if (std::string w = first_loss(v, after[k], at + "/" + k); !w.empty()) return w;
    }
    return {};
  }
  if (before.is_array()) {
    if (!after.is_array()) return at + " (no longer a list)";
    for (std::size_t i = 0; i < before.size(); ++i) {
      const json& b = before[i];
      const std::string here = at + "/" + std::to_string(i);
      if (b.is_object() && b.contains("name")) {
        const json* a = find_named(after, b["name"]);
        if (a == nullptr) return here;
        if (std::string w = first_loss(b, *a, here); !w.empty()) return w;
      } else if (std::find(after.begin(), after.end(), b) == after.end()) {
        return here;
      }
    }
    return {};
  }
  return before == after ? std::string() : at;
}

// Nothing of the pod is removed or changed, but the worker's PYTHONPATH, which gains the agent in front.
void expect_nothing_removed(json before, const json& after, const std::string& worker) {
  for (auto& c : before["spec"]["containers"]) {
    if (c["name"] != worker || !c.contains("env")) continue;
    for (auto& e : c["env"]) {
      if (e["name"] == "PYTHONPATH" && e.contains("value")) e["value"] = std::string(kAgent) + ":" + e["value"].get<std::string>();
    }
  }
  EXPECT_EQ(first_loss(before, after, ""), "");
}

TEST(PodInjection, AReplicaSetPodGetsTheChartsPiecesAroundItsFirstContainer) {
  json in = fixture("replicaset-pod.json");
  Answer a = review(in);
  ASSERT_EQ(a.result.outcome, Outcome::kInjected) << a.result.reason;
  EXPECT_EQ(a.result.worker, "celery");
  EXPECT_EQ(a.result.object, "shop/celery-worker-7d9f8b6c5-*");
  EXPECT_FALSE(a.response.contains("warnings")) << a.response.dump();
  testing::expect_golden(a.object, "replicaset-pod.native.json");

  const json& spec = a.object["spec"];
  EXPECT_EQ(spec["shareProcessNamespace"], true);
  EXPECT_EQ(names(spec["initContainers"]), (std::vector<std::string>{"ramflow-agent", "ramflow"}));
  EXPECT_EQ(spec["initContainers"][1]["restartPolicy"], "Always");
  EXPECT_EQ(names(spec["containers"]), (std::vector<std::string>{"celery", "statsd-exporter"}));
  EXPECT_EQ(names(spec["volumes"]), (std::vector<std::string>{"settings", "kube-api-access-x7k2p", "ramflow-socket",
                                                              "ramflow-state", "ramflow-agent"}));
  const json& worker = spec["containers"][0];
  EXPECT_EQ(env_value(worker, "PYTHONPATH"), "/ramflow-agent/sitecustomize:/app:/app/vendor");
  EXPECT_EQ(env_value(worker, "RAMFLOW_SOCKET"), "/run/ramflow/ramflow.sock");
  EXPECT_EQ(spec["containers"][1], in["request"]["object"]["spec"]["containers"][1]) << "other containers untouched";
  const json& sidecar = spec["initContainers"][1];
  EXPECT_EQ(sidecar["env"][0]["valueFrom"]["resourceFieldRef"]["containerName"], "celery");
  EXPECT_FALSE(sidecar["securityContext"].contains("runAsUser")) << "the pod's runAsUser is the worker's: inherited";
  EXPECT_FALSE(a.object["metadata"].contains("name")) << "the API server names the pod after admission";
  EXPECT_EQ(a.object["metadata"]["labels"]["ramflow.io/injected"], "true");
  expect_nothing_removed(in["request"]["object"], a.object, "celery");
}

TEST(PodInjection, ALabelledNamespaceInjectsTheContainerTheAnnotationNames) {
  json in = fixture("statefulset-pod-named-worker.json");
  Answer a = review(in, Scope::kLabelledNamespace);
  ASSERT_EQ(a.result.outcome, Outcome::kInjected) << a.result.reason;
  EXPECT_EQ(a.result.worker, "worker");
  EXPECT_EQ(a.result.object, "reports/reports-worker-0");
  testing::expect_golden(a.object, "statefulset-pod-named-worker.native.json");

  const json& spec = a.object["spec"];
  EXPECT_EQ(names(spec["initContainers"]), (std::vector<std::string>{"ramflow-agent", "ramflow", "migrate"}))
      << "ours first: the agent is copied and the sidecar is up before the user's init containers";
  const json& worker = spec["containers"][1];
  EXPECT_EQ(env_value(worker, "PYTHONPATH"), "/ramflow-agent/sitecustomize:$(PYTHONPATH)")
      << "the worker has envFrom: a PYTHONPATH there is kept by the kubelet's $(VAR) expansion";
  const json& sidecar = spec["initContainers"][1];
  EXPECT_EQ(sidecar["securityContext"]["runAsUser"], 2000) << "the worker's own UID, for the socket's peer check";
  EXPECT_EQ(sidecar["securityContext"]["runAsNonRoot"], true);
  EXPECT_EQ(sidecar["env"][1]["valueFrom"]["resourceFieldRef"]["containerName"], "worker");
  EXPECT_EQ(spec["containers"][0], in["request"]["object"]["spec"]["containers"][0]);
  for (const auto& op : a.patch) EXPECT_NE(op["path"], "/spec/shareProcessNamespace") << "already true";
  expect_nothing_removed(in["request"]["object"], a.object, "worker");

  Answer annotated_only = review(in, Scope::kAnnotatedPods);
  EXPECT_EQ(annotated_only.result.outcome, Outcome::kNotRequested);
  EXPECT_TRUE(annotated_only.patch.is_null());
}

TEST(PodInjection, APlainSidecarGoesFirstAndKeepsKubectlOnTheWorker) {
  InjectionSettings settings = chart_settings();
  settings.native_sidecar = false;
  json in = fixture("replicaset-pod.json");
  Answer a = review(in, Scope::kAnnotatedPods, settings);
  ASSERT_EQ(a.result.outcome, Outcome::kInjected) << a.result.reason;
  testing::expect_golden(a.object, "replicaset-pod.plain.json");
  const json& spec = a.object["spec"];
  EXPECT_EQ(names(spec["initContainers"]), (std::vector<std::string>{"ramflow-agent"}));
  EXPECT_EQ(names(spec["containers"]), (std::vector<std::string>{"ramflow", "celery", "statsd-exporter"}));
  EXPECT_FALSE(spec["containers"][0].contains("restartPolicy"));
  EXPECT_TRUE(spec["containers"][0]["lifecycle"]["postStart"]["exec"]["command"][2].get<std::string>().find(
                  "/run/ramflow/ramflow.sock") != std::string::npos);
  EXPECT_EQ(env_value(spec["containers"][1], "PYTHONPATH"), "/ramflow-agent/sitecustomize:/app:/app/vendor")
      << "the worker's additions land on the worker, not on the inserted sidecar";
  EXPECT_EQ(a.object["metadata"]["annotations"]["kubectl.kubernetes.io/default-container"], "celery");
  expect_nothing_removed(in["request"]["object"], a.object, "celery");

  // The same with the worker not first.
  Answer b = review(fixture("statefulset-pod-named-worker.json"), Scope::kLabelledNamespace, settings);
  ASSERT_EQ(b.result.outcome, Outcome::kInjected);
  EXPECT_EQ(names(b.object["spec"]["containers"]), (std::vector<std::string>{"ramflow", "cloud-sql-proxy", "worker"}));
  EXPECT_EQ(env_value(b.object["spec"]["containers"][2], "RAMFLOW_SOCKET"), "/run/ramflow/ramflow.sock");
  EXPECT_FALSE(b.object["spec"]["containers"][1].contains("env"));
}

TEST(PodInjection, AnInjectedPodGoesThroughUnchanged) {
  for (bool native : {true, false}) {
    InjectionSettings settings = chart_settings();
    settings.native_sidecar = native;
    for (auto [name, scope] : {std::pair{"replicaset-pod.json", Scope::kAnnotatedPods},
                               {"statefulset-pod-named-worker.json", Scope::kLabelledNamespace}}) {
      json in = fixture(name);
      Answer first = review(in, scope, settings);
      ASSERT_EQ(first.result.outcome, Outcome::kInjected) << name;
      Answer again = review(with_object(in, first.object), scope, settings);
      EXPECT_EQ(again.result.outcome, Outcome::kAlreadyInjected) << name << " native=" << native;
      EXPECT_TRUE(again.patch.is_null()) << again.patch.dump();
      EXPECT_EQ(again.object, first.object);
      // A webhook restarted with the other sidecar style sees the sidecar and adds no second one.
      InjectionSettings other = settings;
      other.native_sidecar = !native;
      EXPECT_EQ(review(with_object(in, first.object), scope, other).result.outcome, Outcome::kAlreadyInjected);
    }
  }
}

TEST(PodInjection, OptInAndOptOut) {
  json in = fixture("replicaset-pod.json");
  json pod = in["request"]["object"];
  pod["metadata"]["annotations"]["ramflow.io/inject"] = "false";
  EXPECT_EQ(review(with_object(in, pod), Scope::kLabelledNamespace).result.outcome, Outcome::kNotRequested);
  EXPECT_EQ(review(with_object(in, pod), Scope::kAnnotatedPods).result.outcome, Outcome::kNotRequested);

  pod["metadata"]["annotations"].erase("ramflow.io/inject");
  EXPECT_EQ(review(with_object(in, pod), Scope::kAnnotatedPods).result.outcome, Outcome::kNotRequested);
  EXPECT_EQ(review(with_object(in, pod), Scope::kLabelledNamespace).result.outcome, Outcome::kInjected);

  pod["metadata"]["annotations"]["ramflow.io/inject"] = "yes";
  Answer bad = review(with_object(in, pod), Scope::kAnnotatedPods);
  EXPECT_EQ(bad.result.outcome, Outcome::kBadAnnotation);
  EXPECT_TRUE(bad.patch.is_null());
  EXPECT_NE(bad.result.reason.find("use \"true\" or \"false\""), std::string::npos) << bad.result.reason;
  ASSERT_TRUE(bad.response.contains("warnings"));
  EXPECT_NE(bad.response["warnings"][0].get<std::string>().find("not injected"), std::string::npos);
}

TEST(PodInjection, AnUnknownWorkerNameIsReportedWithTheContainersThereAre) {
  json in = fixture("replicaset-pod.json");
  json pod = in["request"]["object"];
  pod["metadata"]["annotations"]["ramflow.io/container"] = "worker";
  Answer a = review(with_object(in, pod));
  EXPECT_EQ(a.result.outcome, Outcome::kUnknownContainer);
  EXPECT_NE(a.result.reason.find("(celery, statsd-exporter)"), std::string::npos) << a.result.reason;
  EXPECT_TRUE(a.patch.is_null());

  pod["metadata"]["annotations"]["ramflow.io/container"] = "statsd-exporter";
  Answer b = review(with_object(in, pod));
  ASSERT_EQ(b.result.outcome, Outcome::kInjected);
  EXPECT_EQ(b.result.worker, "statsd-exporter");
}

TEST(PodInjection, ConflictsLetThePodThroughUnchangedWithTheReason) {
  const json in = fixture("replicaset-pod.json");
  struct Case {
    const char* what;
    std::function<void(json&)> change;
    const char* reason_has;
  };
  const Case cases[] = {
      {"hostPID", [](json& p) { p["spec"]["hostPID"] = true; }, "hostPID"},
      {"shareProcessNamespace false", [](json& p) { p["spec"]["shareProcessNamespace"] = false; }, "shareProcessNamespace: false"},
      {"hostNetwork", [](json& p) { p["spec"]["hostNetwork"] = true; }, "hostNetwork"},
      {"port taken", [](json& p) { p["spec"]["containers"][1]["ports"][0]["containerPort"] = 9977; }, "statsd-exporter already uses port 9977"},
      {"mount path taken",
       [](json& p) { p["spec"]["containers"][0]["volumeMounts"].push_back({{"name", "settings"}, {"mountPath", "/run/ramflow"}}); },
       "mounts settings at /run/ramflow"},
  };
  for (const auto& c : cases) {
    json pod = in["request"]["object"];
    c.change(pod);
    Answer a = review(with_object(in, pod));
    EXPECT_EQ(a.result.outcome, Outcome::kConflict) << c.what;
    EXPECT_NE(a.result.reason.find(c.reason_has), std::string::npos) << c.what << ": " << a.result.reason;
    EXPECT_TRUE(a.patch.is_null()) << c.what;
    EXPECT_EQ(a.object, pod) << c.what;
  }
}

TEST(PodInjection, PythonpathIsMergedNeverReplaced) {
  const json in = fixture("replicaset-pod.json");
  auto worker_env = [&](const std::function<void(json&)>& change) {
    json pod = in["request"]["object"];
    change(pod["spec"]["containers"][0]["env"]);
    return review(with_object(in, pod));
  };
  Answer empty = worker_env([](json& env) { env[1]["value"] = ""; });
  EXPECT_EQ(env_value(empty.object["spec"]["containers"][0], "PYTHONPATH"), kAgent) << "no empty entry: it would put the cwd on sys.path";

  Answer there = worker_env([](json& env) { env[1]["value"] = "/app:/ramflow-agent/sitecustomize"; });
  EXPECT_EQ(env_value(there.object["spec"]["containers"][0], "PYTHONPATH"), "/app:/ramflow-agent/sitecustomize");

  Answer absent = worker_env([](json& env) { env.erase(1); });
  EXPECT_EQ(env_value(absent.object["spec"]["containers"][0], "PYTHONPATH"), kAgent);

  Answer no_value = worker_env([](json& env) { env[1].erase("value"); });
  EXPECT_EQ(env_value(no_value.object["spec"]["containers"][0], "PYTHONPATH"), kAgent);

  Answer from_secret = worker_env([](json& env) {
    env[1].erase("value");
    env[1]["valueFrom"] = {{"secretKeyRef", {{"name", "paths"}, {"key", "pythonpath"}}}};
  });
  ASSERT_EQ(from_secret.result.outcome, Outcome::kInjected);
  EXPECT_EQ(from_secret.object["spec"]["containers"][0]["env"][1],
            json::parse(R"({"name":"PYTHONPATH","valueFrom":{"secretKeyRef":{"name":"paths","key":"pythonpath"}}})"))
      << "left as it is";
  ASSERT_TRUE(from_secret.response.contains("warnings"));
  EXPECT_NE(from_secret.response["warnings"][0].get<std::string>().find("valueFrom"), std::string::npos);

  Answer no_env = worker_env([](json& env) { env = nullptr; });
  EXPECT_EQ(no_env.object["spec"]["containers"][0]["env"],
            json::parse(R"([{"name":"PYTHONPATH","value":"/ramflow-agent/sitecustomize"},
                            {"name":"RAMFLOW_SOCKET","value":"/run/ramflow/ramflow.sock"}])"));
}

TEST(PodInjection, TheSidecarRunsAsTheWorkersUidOrWarnsWhenNobodySaysWhichItIs) {
  const json in = fixture("replicaset-pod.json");
  json pod = in["request"]["object"];
  pod["spec"]["securityContext"].erase("runAsUser");
  Answer unknown = review(with_object(in, pod));
  ASSERT_EQ(unknown.result.outcome, Outcome::kInjected);
  ASSERT_TRUE(unknown.response.contains("warnings"));
  EXPECT_NE(unknown.response["warnings"][0].get<std::string>().find("set runAsUser"), std::string::npos);

  pod["spec"]["containers"][0]["securityContext"]["runAsUser"] = 0;
  pod["spec"]["containers"][0]["securityContext"]["runAsNonRoot"] = false;
  Answer root = review(with_object(in, pod));
  const json& security = root.object["spec"]["initContainers"][1]["securityContext"];
  EXPECT_EQ(security["runAsUser"], 0);
  EXPECT_EQ(security["runAsNonRoot"], false) << "else the pod's runAsNonRoot: true would refuse the sidecar";
  EXPECT_EQ(security["capabilities"]["drop"], json::array({"ALL"}));
  EXPECT_FALSE(root.response.contains("warnings"));
}

// What the restricted Pod Security level asks of a container, the pod's
// securityContext counting where the container says nothing; empty when met.
std::string restricted_violation(const json& pod, const json& container) {
  const json pod_security = pod["spec"].value("securityContext", json::object());
  const json own = container.value("securityContext", json::object());
  auto effective = [&](const char* key) { return own.contains(key) ? own[key] : pod_security.value(key, json()); };
  if (effective("runAsNonRoot") != true) return "runAsNonRoot";
  if (effective("runAsUser") == 0) return "runAsUser 0";
  if (effective("seccompProfile").value("type", "") != "RuntimeDefault") return "seccompProfile";
  if (own.value("allowPrivilegeEscalation", true) != false) return "allowPrivilegeEscalation";
  if (own["capabilities"]["drop"] != json::array({"ALL"})) return "capabilities";
  return {};
}

TEST(PodInjection, RamflowsContainersMeetTheRestrictedPodSecurityLevelWhereverTheWorkerDoes) {
  for (auto [name, scope] : {std::pair{"replicaset-pod.json", Scope::kAnnotatedPods},
                             {"statefulset-pod-named-worker.json", Scope::kLabelledNamespace}}) {
    for (bool native : {true, false}) {
      InjectionSettings s = chart_settings();
      s.native_sidecar = native;
      Answer a = review(fixture(name), scope, s);
      ASSERT_EQ(a.result.outcome, Outcome::kInjected);
      json ours = json::array();
      for (const char* list : {"initContainers", "containers"}) {
        for (const auto& c : a.object["spec"][list]) {
          if (c["name"] == "ramflow" || c["name"] == "ramflow-agent") ours.push_back(c);
        }
      }
      ASSERT_EQ(ours.size(), 2u);
      for (const auto& c : ours) {
        EXPECT_EQ(restricted_violation(a.object, c), "") << name << " " << c["name"] << " native=" << native;
      }
    }
  }
  // The replicaset pod says runAsNonRoot itself: its ramflow containers inherit it, as in the chart.
  Answer inherits = review(fixture("replicaset-pod.json"));
  EXPECT_FALSE(inherits.object["spec"]["initContainers"][0]["securityContext"].contains("runAsNonRoot"));
  EXPECT_FALSE(inherits.object["spec"]["initContainers"][1]["securityContext"].contains("runAsNonRoot"));
  // A root pod is no restricted pod: ramflow's containers do not claim runAsNonRoot then.
  json in = fixture("statefulset-pod-named-worker.json");
  json pod = in["request"]["object"];
  pod["spec"]["securityContext"]["runAsUser"] = 0;
  pod["spec"]["containers"][1]["securityContext"].erase("runAsUser");
  pod["spec"]["containers"][1]["securityContext"].erase("runAsNonRoot");
  Answer root = review(with_object(in, pod), Scope::kLabelledNamespace);
  EXPECT_FALSE(root.object["spec"]["initContainers"][0]["securityContext"].contains("runAsNonRoot"));
  EXPECT_FALSE(root.object["spec"]["initContainers"][1]["securityContext"].contains("runAsNonRoot"));
}

TEST(PodInjection, APodWithoutLabelsOrAnnotationsGetsTheMaps) {
  const json in = fixture("replicaset-pod.json");
  json pod = in["request"]["object"];
  pod["metadata"].erase("labels");
  pod["metadata"].erase("annotations");
  InjectionSettings plain = chart_settings();
  plain.native_sidecar = false;
  Answer a = review(with_object(in, pod), Scope::kLabelledNamespace, plain);
  ASSERT_EQ(a.result.outcome, Outcome::kInjected);
  EXPECT_EQ(a.object["metadata"]["labels"], json({{"ramflow.io/injected", "true"}}));
  EXPECT_EQ(a.object["metadata"]["annotations"], json({{"kubectl.kubernetes.io/default-container", "celery"}}));

  pod.erase("metadata");
  Answer b = review(with_object(in, pod), Scope::kLabelledNamespace);
  ASSERT_EQ(b.result.outcome, Outcome::kInjected);
  EXPECT_EQ(b.object["metadata"]["labels"]["ramflow.io/injected"], "true");
}

TEST(PodInjection, SettingsReachTheSidecar) {
  InjectionSettings s = chart_settings();
  s.image = "registry.internal/ramflow:0.2.0";
  s.sidecar_port = 9100;
  s.process_match = "celery";
  s.sidecar_resources = {"50m", "64Mi", "200m", "256Mi"};
  Answer a = review(fixture("replicaset-pod.json"), Scope::kAnnotatedPods, s);
  const json& sidecar = a.object["spec"]["initContainers"][1];
  EXPECT_EQ(sidecar["image"], "registry.internal/ramflow:0.2.0");
  EXPECT_EQ(a.object["spec"]["initContainers"][0]["image"], "registry.internal/ramflow:0.2.0");
  EXPECT_EQ(sidecar["args"][2], "0.0.0.0:9100");
  EXPECT_EQ(sidecar["ports"][0]["containerPort"], 9100);
  EXPECT_EQ(sidecar["args"][sidecar["args"].size() - 1], "celery");
  EXPECT_EQ(sidecar["resources"],
            json::parse(R"({"requests":{"cpu":"50m","memory":"64Mi"},"limits":{"cpu":"200m","memory":"256Mi"}})"));
}

}  // namespace
}  // namespace ramflow::webhook
