"""podman as the pod tests drive it: the CLI, a container's log, and the few changes
podman 4.3's `kube play` needs that Kubernetes does not (docs/kubernetes.md)."""
from __future__ import annotations

import subprocess


def podman(*args: str, check: bool = True) -> str:
    out = subprocess.run(["podman", *args], capture_output=True, text=True)
    if check and out.returncode != 0:
        raise RuntimeError(f"podman {' '.join(args)}: {out.stderr.strip()}")
    return out.stdout


def logs(container: str) -> str:
    """What the container wrote, both streams (ramflowd logs on stderr)."""
    out = subprocess.run(["podman", "logs", container], capture_output=True, text=True)
    return out.stdout + out.stderr


def adapt_pod_for_podman(metadata: dict, spec: dict, port: int) -> None:
    """In place: restartPolicy OnFailure (podman 4.3 applies a pod's restart policy to its
    init containers: under Always it re-runs a finished init container in a loop, ~40 times
    a second here, while the pod's containers run; the agent's `cp` then rewrote the files
    a starting worker was importing. Kubernetes never re-runs a finished init container;
    a SIGKILLed sidecar, exit 137, is still restarted); init containers re-run on every
    start of the pod (podman's default "once" fails to bring the pod up; the annotation
    goes on the played object's own metadata); the host network, so the test reaches the
    sidecar on 127.0.0.1 only; hence no `ports` (podman turns each containerPort into a
    port mapping, refused on the host network) and the sidecar's probes given the port
    number instead of its name, and its --listen on 127.0.0.1."""
    metadata.setdefault("annotations", {})["io.podman.annotations.init.container.type"] = "always"
    spec["restartPolicy"] = "OnFailure"
    spec["hostNetwork"] = True
    for c in spec.get("initContainers", []) + spec["containers"]:
        c.pop("ports", None)
        for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
            if "httpGet" in c.get(probe, {}):
                c[probe]["httpGet"]["port"] = port
        args = c.get("args", [])
        if "--listen" in args:
            args[args.index("--listen") + 1] = f"127.0.0.1:{port}"


def run_helm_test(objects: list[dict], hosts: list[str], env: dict[str, str] | None = None,
                  volumes: tuple[str, ...] = ()) -> tuple[int, str]:
    """The chart's `helm test` Pod (annotation helm.sh/hook: test) run as podman runs a
    container: its image, command, arguments, user, read-only root, no capabilities and
    memory limit, on the host network with `hosts` (Service names) resolving to 127.0.0.1.
    `env` overrides rendered variables (only what the host network changes, the port).
    Returns its exit code and output."""
    pod = next(o for o in objects if o["kind"] == "Pod" and o["metadata"].get("annotations", {}).get("helm.sh/hook") == "test")
    spec = pod["spec"]
    container = spec["containers"][0]
    run = ["run", "--rm", "--network", "host", "--user", f"{spec['securityContext']['runAsUser']}:{spec['securityContext']['runAsGroup']}",
           "--read-only", "--cap-drop", "ALL", "--security-opt", "no-new-privileges",
           "--memory", container["resources"]["limits"]["memory"].replace("Mi", "m")]
    for host in hosts:
        run += ["--add-host", f"{host}:127.0.0.1"]
    for e in container.get("env", []):
        run += ["-e", f"{e['name']}={(env or {}).get(e['name'], e['value'])}"]
    for v in volumes:
        run += ["-v", v]
    command = container["command"]
    run += ["--entrypoint", command[0], container["image"], *command[1:], *container.get("args", [])]
    out = subprocess.run(["podman", *run], capture_output=True, text=True, timeout=120)
    return out.returncode, out.stdout + out.stderr
