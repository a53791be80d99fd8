// The Kubernetes objects the webhook adds to a pod, as JSON: the agent-copy
// init container, the ramflowd sidecar and the three emptyDir volumes. The
// same shape as helm/ramflow/templates/_helpers.tpl and
// deploy/components/ramflow-sidecar/sidecar-patch.yaml. Pure.
#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "webhook/injection_settings.h"

namespace ramflow::webhook {

inline constexpr const char* kSidecarName = "ramflow";
inline constexpr const char* kAgentCopyName = "ramflow-agent";
inline constexpr const char* kSocketVolume = "ramflow-socket";
inline constexpr const char* kStateVolume = "ramflow-state";
inline constexpr const char* kAgentVolume = "ramflow-agent";
inline constexpr const char* kStateDir = "/var/lib/ramflow";
// Under agent_mount_path: the directory whose sitecustomize.py loads the agent.
inline constexpr const char* kSitecustomizeDir = "sitecustomize";

// The ramflow image's USER (Dockerfile): what its containers run as when nothing says otherwise.
inline constexpr long long kImageUid = 1000;

// runAsUser / runAsNonRoot a ramflow container states itself (unset: inherited from the pod).
struct RunAs {
  std::optional<long long> user;
  std::optional<bool> non_root;
};

nlohmann::json agent_copy_container(const InjectionSettings& settings, const RunAs& run_as = {});
// `worker` names the container whose memory limit the Downward API hands over.
nlohmann::json sidecar_container(const InjectionSettings& settings, const std::string& worker, const RunAs& run_as);
// The three emptyDirs (socket, state, agent copy), in the order they are added.
nlohmann::json injected_volumes();

std::string socket_path(const InjectionSettings& settings);
std::string agent_python_path(const InjectionSettings& settings);

}  // namespace ramflow::webhook
