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
    """In place: init containers re-run on every start (podman's default "once" fails to
    bring the pod up; the annotation goes on the played object's own metadata); the host
    network, so the test reaches the sidecar on 127.0.0.1 only; hence no `ports` (podman
    turns each containerPort into a port mapping, refused on the host network) and the
    sidecar's probes given the port number instead of its name, and its --listen on
    127.0.0.1."""
    metadata.setdefault("annotations", {})["io.podman.annotations.init.container.type"] = "always"
    spec["hostNetwork"] = True
    for c in spec.get("initContainers", []) + spec["containers"]:
        c.pop("ports", None)
        for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
            if "httpGet" in c.get(probe, {}):
                c[probe]["httpGet"]["port"] = port
        args = c.get("args", [])
        if "--listen" in args:
            args[args.index("--listen") + 1] = f"127.0.0.1:{port}"
