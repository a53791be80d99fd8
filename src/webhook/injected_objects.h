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

// Who the worker runs as, copied onto the sidecar so the agent socket's
// SO_PEERCRED check (same UID) passes and /proc/<worker>/ is readable.
struct WorkerIdentity {
  std::optional<long long> run_as_user;  // the worker container's own runAsUser
  std::optional<bool> run_as_non_root;    // the worker container's own runAsNonRoot
};

nlohmann::json agent_copy_container(const InjectionSettings& settings);
// `worker` names the container whose memory limit the Downward API hands over.
nlohmann::json sidecar_container(const InjectionSettings& settings, const std::string& worker,
                                 const WorkerIdentity& identity);
// The three emptyDirs (socket, state, agent copy), in the order they are added.
nlohmann::json injected_volumes();

std::string socket_path(const InjectionSettings& settings);
std::string agent_python_path(const InjectionSettings& settings);

}  // namespace ramflow::webhook
