// What the injection webhook puts into a pod: the ramflow image and the
// sidecar's settings. The defaults are the Helm chart's (helm/ramflow/values.yaml)
// and the kustomize component's (deploy/components/ramflow-sidecar), so the three
// inject the same pieces; tests/unit/webhook compares them with the component.
#pragma once

#include <string>

namespace ramflow::webhook {

// Kubernetes quantities ("20m", "48Mi"); empty means not set.
struct Resources {
  std::string cpu_request;
  std::string memory_request;
  std::string cpu_limit;
  std::string memory_limit;
};

struct InjectionSettings {
  std::string image = "ghcr.io/ramflow/ramflow:latest";  // the caller sets the release's tag
  std::string image_pull_policy = "IfNotPresent";
  // Native sidecar (an init container with restartPolicy: Always, Kubernetes >= 1.29),
  // else a plain first container whose postStart hook waits for the agent socket.
  bool native_sidecar = true;
  int sidecar_port = 9977;
  // Passed to `ramflowd serve` as they are (validated with ramflowd's own rules).
  std::string interval = "1s";
  std::string max_processes = "64";
  std::string process_match;  // empty: ramflowd's default
  std::string sidecar_log_format = "json";
  std::string sidecar_log_level = "info";
  std::string leak_medium_mib = "5";
  std::string leak_high_mib = "20";
  std::string capture_auto = "true";
  std::string capture_every = "1h";
  Resources sidecar_resources{"20m", "48Mi", "", "128Mi"};
  Resources agent_resources{"10m", "16Mi", "", "32Mi"};
  std::string socket_dir = "/run/ramflow";
  std::string agent_mount_path = "/ramflow-agent";
};

}  // namespace ramflow::webhook
