#include "webhook/injected_objects.h"

namespace ramflow::webhook {
namespace {

using nlohmann::json;

json resources(const Resources& r) {
  json requests = json::object();
  json limits = json::object();
  if (!r.cpu_request.empty()) requests["cpu"] = r.cpu_request;
  if (!r.memory_request.empty()) requests["memory"] = r.memory_request;
  if (!r.cpu_limit.empty()) limits["cpu"] = r.cpu_limit;
  if (!r.memory_limit.empty()) limits["memory"] = r.memory_limit;
  json out = json::object();
  if (!requests.empty()) out["requests"] = requests;
  if (!limits.empty()) out["limits"] = limits;
  return out;
}

// The chart's hardening of both ramflow containers.
json restricted_security_context(const RunAs& run_as) {
  json c = {{"allowPrivilegeEscalation", false},
            {"readOnlyRootFilesystem", true},
            {"capabilities", {{"drop", {"ALL"}}}},
            {"seccompProfile", {{"type", "RuntimeDefault"}}}};
  if (run_as.user) c["runAsUser"] = *run_as.user;
  if (run_as.non_root) c["runAsNonRoot"] = *run_as.non_root;
  return c;
}

json worker_resource_env(const char* name, const std::string& worker, const char* resource) {
  return {{"name", name},
          {"valueFrom",
           {{"resourceFieldRef", {{"containerName", worker}, {"resource", resource}, {"divisor", "1"}}}}}};
}

json http_probe(const char* path, int period_seconds, int failure_threshold) {
  return {{"httpGet", {{"path", path}, {"port", "metrics"}}},
          {"periodSeconds", period_seconds},
          {"failureThreshold", failure_threshold}};
}

}  // namespace

std::string socket_path(const InjectionSettings& settings) { return settings.socket_dir + "/ramflow.sock"; }

std::string agent_python_path(const InjectionSettings& settings) {
  return settings.agent_mount_path + "/" + kSitecustomizeDir;
}

json agent_copy_container(const InjectionSettings& settings, const RunAs& run_as) {
  return {{"name", kAgentCopyName},
          {"image", settings.image},
          {"imagePullPolicy", settings.image_pull_policy},
          {"command", {"cp", "-R", "/opt/ramflow/agent/.", settings.agent_mount_path + "/"}},
          {"securityContext", restricted_security_context(run_as)},
          {"resources", resources(settings.agent_resources)},
          {"volumeMounts", {{{"name", kAgentVolume}, {"mountPath", settings.agent_mount_path}}}}};
}

json sidecar_container(const InjectionSettings& settings, const std::string& worker, const RunAs& run_as) {
  json args = {"serve",          "--listen",       "0.0.0.0:" + std::to_string(settings.sidecar_port),
               "--socket",       socket_path(settings), "--interval", settings.interval,
               "--state-dir",    kStateDir,        "--max-processes", settings.max_processes,
               "--log-format",   settings.sidecar_log_format, "--log-level", settings.sidecar_log_level,
               "--ebpf",         "off",
               "--capture-auto", settings.capture_auto, "--capture-every", settings.capture_every};
  if (!settings.process_match.empty()) {
    args.push_back("--process-match");
    args.push_back(settings.process_match);
  }
  json c = {{"name", kSidecarName},
            {"image", settings.image},
            {"imagePullPolicy", settings.image_pull_policy},
            {"args", args},
            {"env",
             {worker_resource_env("RAMFLOW_MEMORY_LIMIT_BYTES", worker, "limits.memory"),
              worker_resource_env("RAMFLOW_MEMORY_REQUEST_BYTES", worker, "requests.memory"),
              {{"name", "RAMFLOW_LEAK_MEDIUM"}, {"value", settings.leak_medium_mib}},
              {{"name", "RAMFLOW_LEAK_HIGH"}, {"value", settings.leak_high_mib}}}},
            {"ports", {{{"name", "metrics"}, {"containerPort", settings.sidecar_port}, {"protocol", "TCP"}}}},
            {"startupProbe", http_probe("/healthz", 1, 30)},
            {"livenessProbe", http_probe("/healthz", 10, 3)},
            {"readinessProbe", http_probe("/readyz", 10, 3)},
            {"resources", resources(settings.sidecar_resources)},
            {"securityContext", restricted_security_context(run_as)},
            {"volumeMounts",
             {{{"name", kSocketVolume}, {"mountPath", settings.socket_dir}},
              {{"name", kStateVolume}, {"mountPath", kStateDir}}}}};
  if (settings.native_sidecar) {
    c["restartPolicy"] = "Always";
  } else {
    // A plain container: the kubelet starts the next container only after this
    // hook returns, so the worker starts once the socket exists (or after 30 s).
    c["lifecycle"] = {{"postStart",
                       {{"exec",
                         {{"command",
                           {"/bin/sh", "-c",
                            "i=0; while [ ! -S " + socket_path(settings) +
                                " ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done"}}}}}}};
  }
  return c;
}

json injected_volumes() {
  return json::array({
      {{"name", kSocketVolume}, {"emptyDir", {{"sizeLimit", "1Mi"}}}},
      // RAM-backed: the state file is rewritten as often as each interval (docs/reliability.md).
      {{"name", kStateVolume}, {"emptyDir", {{"medium", "Memory"}, {"sizeLimit", "16Mi"}}}},
      {{"name", kAgentVolume}, {"emptyDir", {{"sizeLimit", "16Mi"}}}},
  });
}

}  // namespace ramflow::webhook
