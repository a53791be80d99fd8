#include "webhook/pod_injection.h"

#include <optional>

#include "webhook/injected_objects.h"

namespace ramflow::webhook {
namespace {

using nlohmann::json;
using Pointer = json::json_pointer;

constexpr const char* kDefaultContainerAnnotation = "kubectl.kubernetes.io/default-container";

Injection skip(Outcome outcome, std::string reason) {
  Injection i;
  i.outcome = outcome;
  i.reason = std::move(reason);
  return i;
}

const json* member(const json& object, const char* key) {
  if (!object.is_object()) return nullptr;
  auto it = object.find(key);
  return it == object.end() || it->is_null() ? nullptr : &*it;
}

// A list of objects that each carry a string "name" (containers, volumes, env...); absent is fine.
bool is_named_list(const json* list) {
  if (list == nullptr) return true;
  if (!list->is_array()) return false;
  for (const auto& item : *list) {
    const json* name = member(item, "name");
    if (name == nullptr || !name->is_string()) return false;
  }
  return true;
}

std::optional<std::size_t> index_of(const json* list, const std::string& name) {
  if (list == nullptr) return std::nullopt;
  for (std::size_t i = 0; i < list->size(); ++i) {
    if ((*list)[i]["name"] == name) return i;
  }
  return std::nullopt;
}

// Why the object cannot be read as a Pod; empty when it can.
std::string pod_shape_error(const json& pod) {
  if (!pod.is_object()) return "the object is not a JSON object";
  const json* metadata = member(pod, "metadata");
  if (metadata != nullptr) {
    if (!metadata->is_object()) return "metadata is not an object";
    for (const char* key : {"annotations", "labels"}) {
      const json* map = member(*metadata, key);
      if (map == nullptr) continue;
      if (!map->is_object()) return std::string("metadata.") + key + " is not an object";
      for (const auto& [k, v] : map->items()) {
        if (!v.is_string()) return std::string("metadata.") + key + "." + k + " is not a string";
      }
    }
  }
  const json* spec = member(pod, "spec");
  if (spec == nullptr || !spec->is_object()) return "the pod has no spec";
  const json* containers = member(*spec, "containers");
  if (containers == nullptr || !containers->is_array() || containers->empty()) return "spec.containers is empty";
  for (const char* key : {"containers", "initContainers", "volumes"}) {
    if (!is_named_list(member(*spec, key))) return std::string("spec.") + key + " is not a list of named objects";
  }
  for (const char* list : {"containers", "initContainers"}) {
    const json* items = member(*spec, list);
    if (items == nullptr) continue;
    for (const auto& c : *items) {
      if (!c.is_object()) return std::string("spec.") + list + " holds a non-object";
      if (!is_named_list(member(c, "env"))) return "the env of container " + c["name"].get<std::string>() + " is malformed";
      const json* mounts = member(c, "volumeMounts");
      if (!is_named_list(mounts)) return "the volumeMounts of container " + c["name"].get<std::string>() + " are malformed";
      if (mounts != nullptr) {
        for (const auto& m : *mounts) {
          const json* path = member(m, "mountPath");
          if (path == nullptr || !path->is_string()) return "a volumeMount without mountPath in " + c["name"].get<std::string>();
        }
      }
      const json* ports = member(c, "ports");
      if (ports != nullptr && !ports->is_array()) return "the ports of container " + c["name"].get<std::string>() + " are not a list";
      const json* security = member(c, "securityContext");
      if (security != nullptr && !security->is_object()) return "a container securityContext is not an object";
    }
  }
  const json* security = member(*spec, "securityContext");
  if (security != nullptr && !security->is_object()) return "spec.securityContext is not an object";
  return {};
}

std::string annotation(const json& pod, const char* key, bool* present) {
  const json* annotations = member(pod, "metadata") ? member(pod["metadata"], "annotations") : nullptr;
  const json* value = annotations ? member(*annotations, key) : nullptr;
  *present = value != nullptr;
  return value ? value->get<std::string>() : std::string();
}

// Something in the pod that ramflow's pieces would clash with; empty when none.
std::string conflict(const json& spec, const json& worker, const InjectionSettings& s) {
  if (const json* host_pid = member(spec, "hostPID"); host_pid && *host_pid == true) return "the pod uses hostPID, which cannot be combined with shareProcessNamespace";
  if (const json* share = member(spec, "shareProcessNamespace"); share && *share == false) {
    return "the pod sets shareProcessNamespace: false; the sidecar sees the worker's processes only in a shared "
           "process namespace";
  }
  if (const json* host_network = member(spec, "hostNetwork"); host_network && *host_network == true) {
    return "the pod uses hostNetwork: the sidecar's port " + std::to_string(s.sidecar_port) + " would be the node's";
  }
  for (const char* list : {"initContainers", "containers"}) {
    const json* items = member(spec, list);
    if (items == nullptr) continue;
    for (const auto& c : *items) {
      if (c["name"] == kSidecarName) continue;
      const json* ports = member(c, "ports");
      if (ports == nullptr) continue;
      for (const auto& p : *ports) {
        const json* port = member(p, "containerPort");
        if (port != nullptr && *port == s.sidecar_port) {
          return "container " + c["name"].get<std::string>() + " already uses port " +
                 std::to_string(s.sidecar_port) + " (set the webhook's --sidecar-port)";
        }
      }
    }
  }
  if (const json* mounts = member(worker, "volumeMounts")) {
    const std::pair<std::string, const char*> ours[] = {{s.socket_dir, kSocketVolume}, {s.agent_mount_path, kAgentVolume}};
    for (const auto& m : *mounts) {
      for (const auto& [path, volume] : ours) {
        if (m["mountPath"] == path && m["name"] != volume) {
          return "container " + worker["name"].get<std::string>() + " mounts " + m["name"].get<std::string>() +
                 " at " + path + ", where ramflow mounts " + volume;
        }
      }
    }
  }
  return {};
}

// Patch operations, built in the order the API server applies them.
class Patch {
 public:
  void add(const Pointer& path, json value) {
    ops_.push_back({{"op", "add"}, {"path", path.to_string()}, {"value", std::move(value)}});
  }
  void replace(const Pointer& path, json value) {
    ops_.push_back({{"op", "replace"}, {"path", path.to_string()}, {"value", std::move(value)}});
  }
  // Appends items to the list at parent/key, creating the list when it is absent.
  void append(const json& parent, const Pointer& parent_path, const char* key, const json& items) {
    if (items.empty()) return;
    if (member(parent, key) == nullptr) {
      add(parent_path / key, items);
      return;
    }
    for (const auto& item : items) add(parent_path / key / "-", item);
  }
  // Sets parent/key/entry to value unless the entry exists, creating the map when absent.
  void put(const json& parent, const Pointer& parent_path, const char* key, const std::string& entry,
           const std::string& value) {
    const json* map = member(parent, key);
    if (map == nullptr) {
      add(parent_path / key, {{entry, value}});
    } else if (member(*map, entry.c_str()) == nullptr) {
      add(parent_path / key / entry, value);
    }
  }
  json take() { return std::move(ops_); }

 private:
  json ops_ = json::array();
};

bool path_has_entry(const std::string& value, const std::string& entry) {
  std::size_t start = 0;
  while (start <= value.size()) {
    std::size_t end = value.find(':', start);
    if (end == std::string::npos) end = value.size();
    if (value.compare(start, end - start, entry) == 0) return true;
    start = end + 1;
  }
  return false;
}

// PYTHONPATH and RAMFLOW_SOCKET on the worker; warnings for what cannot be merged.
void add_worker_env(Patch& patch, const json& worker, const Pointer& at, const InjectionSettings& s,
                    std::vector<std::string>& warnings) {
  const std::string agent = agent_python_path(s);
  const std::string name = worker["name"].get<std::string>();
  const json* env = member(worker, "env");
  json added = json::array();

  // The last definition of a name is the one the kubelet uses.
  std::optional<std::size_t> pythonpath;
  std::optional<std::size_t> socket;
  if (env != nullptr) {
    for (std::size_t i = 0; i < env->size(); ++i) {
      if ((*env)[i]["name"] == "PYTHONPATH") pythonpath = i;
      if ((*env)[i]["name"] == "RAMFLOW_SOCKET") socket = i;
    }
  }
  if (!pythonpath) {
    // A PYTHONPATH from envFrom is expanded into $(PYTHONPATH) by the kubelet; without one
    // the reference stays as a literal, non-existent directory, which Python skips.
    bool has_env_from = member(worker, "envFrom") != nullptr;
    added.push_back({{"name", "PYTHONPATH"}, {"value", has_env_from ? agent + ":$(PYTHONPATH)" : agent}});
  } else {
    const json& entry = (*env)[*pythonpath];
    const json* value = member(entry, "value");
    if (value != nullptr && value->is_string()) {
      const std::string current = value->get<std::string>();
      if (!path_has_entry(current, agent)) {
        patch.replace(at / "env" / *pythonpath / "value", current.empty() ? agent : agent + ":" + current);
      }
    } else if (member(entry, "valueFrom") != nullptr) {
      warnings.push_back("ramflow: PYTHONPATH of container " + name +
                         " comes from valueFrom, so the agent is not loaded; put " + agent + " first in it");
    } else {
      patch.add(at / "env" / *pythonpath / "value", agent);
    }
  }
  if (!socket) {
    added.push_back({{"name", "RAMFLOW_SOCKET"}, {"value", socket_path(s)}});
  } else if (const json* value = member((*env)[*socket], "value"); value == nullptr || *value != socket_path(s)) {
    warnings.push_back("ramflow: container " + name + " sets RAMFLOW_SOCKET itself; the sidecar listens on " +
                       socket_path(s));
  }
  patch.append(worker, at, "env", added);
}

void add_worker_mounts(Patch& patch, const json& worker, const Pointer& at, const InjectionSettings& s) {
  const json* mounts = member(worker, "volumeMounts");
  json added = json::array();
  if (!index_of(mounts, kSocketVolume)) added.push_back({{"name", kSocketVolume}, {"mountPath", s.socket_dir}});
  if (!index_of(mounts, kAgentVolume)) {
    added.push_back({{"name", kAgentVolume}, {"mountPath", s.agent_mount_path}, {"readOnly", true}});
  }
  patch.append(worker, at, "volumeMounts", added);
}

std::optional<long long> integer(const json* object, const char* key) {
  const json* value = object ? member(*object, key) : nullptr;
  if (value == nullptr || !value->is_number_integer()) return std::nullopt;
  return value->get<long long>();
}

struct Identities {
  RunAs agent_copy;
  RunAs sidecar;
};

// The sidecar runs as the worker: the worker container's own runAsUser and
// runAsNonRoot are copied, the pod's are inherited, so the agent socket's
// SO_PEERCRED check (same UID) passes and /proc/<worker>/ is readable. Where
// the pod itself does not say runAsNonRoot, ramflow's containers say it for
// themselves (unless they run as root), so a namespace enforcing the
// restricted Pod Security level still admits the pod.
Identities identities(const json& spec, const json& worker, std::vector<std::string>& warnings) {
  const json* pod_security = member(spec, "securityContext");
  const json* worker_security = member(worker, "securityContext");
  Identities id;
  id.sidecar.user = integer(worker_security, "runAsUser");
  if (const json* non_root = worker_security ? member(*worker_security, "runAsNonRoot") : nullptr;
      non_root && non_root->is_boolean()) {
    id.sidecar.non_root = non_root->get<bool>();
  }
  const std::optional<long long> pod_uid = integer(pod_security, "runAsUser");
  if (!id.sidecar.user && !pod_uid) {
    warnings.push_back("ramflow: container " + worker["name"].get<std::string>() +
                       " has no runAsUser (pod or container); the sidecar runs as the image's UID " +
                       std::to_string(kImageUid) + " and accepts agents of that UID only: set runAsUser to the worker's UID");
  }
  const json* pod_non_root = pod_security ? member(*pod_security, "runAsNonRoot") : nullptr;
  if (pod_non_root == nullptr || *pod_non_root != true) {
    if (!id.sidecar.non_root && id.sidecar.user.value_or(pod_uid.value_or(kImageUid)) != 0) id.sidecar.non_root = true;
    if (pod_uid.value_or(kImageUid) != 0) id.agent_copy.non_root = true;
  }
  return id;
}

}  // namespace

Injection plan_injection(const json& pod, Scope scope, const InjectionSettings& s) {
  if (std::string error = pod_shape_error(pod); !error.empty()) return skip(Outcome::kInvalidPod, error);

  bool requested = false;
  const std::string inject = annotation(pod, kInjectAnnotation, &requested);
  if (requested && inject != "true" && inject != "false") {
    Injection i = skip(Outcome::kBadAnnotation, std::string(kInjectAnnotation) + " is \"" + inject +
                                                    "\"; use \"true\" or \"false\"");
    i.warnings.push_back("ramflow: not injected: " + i.reason);
    return i;
  }
  if (inject == "false") return skip(Outcome::kNotRequested, std::string(kInjectAnnotation) + " is \"false\"");
  if (!requested && scope == Scope::kAnnotatedPods) {
    return skip(Outcome::kNotRequested, std::string("no ") + kInjectAnnotation + " annotation");
  }

  const json& spec = pod["spec"];
  const json& containers = spec["containers"];
  bool named = false;
  const std::string wanted = annotation(pod, kContainerAnnotation, &named);
  std::optional<std::size_t> w;
  for (std::size_t i = 0; i < containers.size() && !w; ++i) {
    const std::string& name = containers[i]["name"].get_ref<const std::string&>();
    if (name != kSidecarName && (named ? name == wanted : true)) w = i;
  }
  if (!w) {
    std::string names;
    for (const auto& c : containers) names += (names.empty() ? "" : ", ") + c["name"].get<std::string>();
    Injection i = skip(Outcome::kUnknownContainer,
                       named ? std::string(kContainerAnnotation) + " is \"" + wanted +
                                   "\", which is not a container of the pod (" + names + ")"
                             : "the pod has no container besides ramflow's");
    i.warnings.push_back("ramflow: not injected: " + i.reason);
    return i;
  }
  const json& worker = containers[*w];
  if (std::string why = conflict(spec, worker, s); !why.empty()) {
    Injection i = skip(Outcome::kConflict, why);
    i.warnings.push_back("ramflow: not injected: " + why);
    return i;
  }

  Injection result;
  result.worker = worker["name"].get<std::string>();
  Patch patch;
  const Pointer spec_at = Pointer("/spec");
  const json* init = member(spec, "initContainers");
  const bool has_sidecar = index_of(init, kSidecarName) || index_of(&containers, kSidecarName);
  const bool plain_sidecar = !has_sidecar && !s.native_sidecar;

  // metadata: a label to select injected pods by (PodMonitor, NetworkPolicy), and
  // kubectl's default container, which a plain sidecar placed first would otherwise become.
  const json* metadata = member(pod, "metadata");
  json meta_adds = {{"labels", {{kInjectedLabel, "true"}}}};
  if (plain_sidecar) meta_adds["annotations"] = {{kDefaultContainerAnnotation, result.worker}};
  if (metadata == nullptr) {
    patch.add(Pointer("/metadata"), meta_adds);
  } else {
    patch.put(*metadata, Pointer("/metadata"), "labels", kInjectedLabel, "true");
    if (plain_sidecar) patch.put(*metadata, Pointer("/metadata"), "annotations", kDefaultContainerAnnotation, result.worker);
  }

  if (member(spec, "shareProcessNamespace") == nullptr) patch.add(spec_at / "shareProcessNamespace", true);

  json volumes = json::array();
  for (const auto& v : injected_volumes()) {
    if (!index_of(member(spec, "volumes"), v["name"])) volumes.push_back(v);
  }
  patch.append(spec, spec_at, "volumes", volumes);

  // The worker's own additions come before any container is inserted, so its index holds.
  const Pointer worker_at = spec_at / "containers" / *w;
  add_worker_env(patch, worker, worker_at, s, result.warnings);
  add_worker_mounts(patch, worker, worker_at, s);
  std::vector<std::string> identity_warnings;
  const Identities run_as = identities(spec, worker, identity_warnings);
  if (!has_sidecar) result.warnings.insert(result.warnings.end(), identity_warnings.begin(), identity_warnings.end());

  // Ours go first among the init containers: the agent is copied, and a native sidecar
  // is up, before the user's own init containers and the worker start.
  json new_init = json::array();
  if (!index_of(init, kAgentCopyName)) new_init.push_back(agent_copy_container(s, run_as.agent_copy));
  if (!has_sidecar && s.native_sidecar) new_init.push_back(sidecar_container(s, result.worker, run_as.sidecar));
  if (init == nullptr && !new_init.empty()) {
    patch.add(spec_at / "initContainers", new_init);
  } else {
    for (std::size_t k = 0; k < new_init.size(); ++k) patch.add(spec_at / "initContainers" / k, new_init[k]);
  }
  if (plain_sidecar) patch.add(spec_at / "containers" / 0, sidecar_container(s, result.worker, run_as.sidecar));

  result.patch = patch.take();
  if (result.patch.empty()) {
    result.outcome = Outcome::kAlreadyInjected;
    result.reason = "everything ramflow adds is already in the pod";
    result.warnings.clear();  // they were about pieces that are not being added
  } else {
    result.outcome = Outcome::kInjected;
  }
  return result;
}

}  // namespace ramflow::webhook
