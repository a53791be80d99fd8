"""ramflow added to a chart that is not ours, the way docs/kubernetes.md says:
the real Helm with --post-renderer deploy/post-renderer/ramflow-post-renderer
(helm template renders exactly what helm install would send, without a cluster).

Needs helm and kubectl on PATH (scripts/install-deps.sh installs both); skipped
without them, failed then when CI=true.
"""
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
CHART = Path(__file__).resolve().parent / "third-party-celery"
RENDERER = REPO / "deploy" / "post-renderer" / "ramflow-post-renderer"
AGENT = "/ramflow-agent/sitecustomize"


def require(tool):
    if shutil.which(tool) is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{tool} is not on PATH (scripts/install-deps.sh installs it)")
        pytest.skip(f"{tool} is not on PATH")


def render(*renderer_args):
    require("helm")
    require("kubectl")
    command = ["helm", "template", "shop", str(CHART), "--post-renderer", str(RENDERER)]
    for arg in renderer_args:
        command += ["--post-renderer-args", arg]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return {(o["kind"], o["metadata"]["name"]): o for o in yaml.safe_load_all(done.stdout) if o}


def pod(objects, name):
    return objects[("Deployment", name)]["spec"]["template"]["spec"]


def env(container):
    return {e["name"]: e.get("value") for e in container.get("env", [])}


def test_the_named_deployment_gets_ramflow_and_the_rest_is_untouched():
    objects = render("--deployment", "shop-celery")
    spec = pod(objects, "shop-celery")
    assert [c["name"] for c in spec["initContainers"]] == ["ramflow-agent", "ramflow"]
    assert spec["initContainers"][1]["restartPolicy"] == "Always"
    assert [c["name"] for c in spec["containers"]] == ["celery"]
    worker = spec["containers"][0]
    assert env(worker)["PYTHONPATH"] == f"{AGENT}:/app", "the chart's own PYTHONPATH is kept after the agent"
    assert env(worker)["RAMFLOW_SOCKET"] == "/run/ramflow/ramflow.sock"
    limit = spec["initContainers"][1]["env"][0]["valueFrom"]["resourceFieldRef"]
    assert limit == {"containerName": "celery", "resource": "limits.memory", "divisor": "1"}
    assert spec["shareProcessNamespace"] is True
    assert {v["name"] for v in spec["volumes"]} == {"ramflow-socket", "ramflow-state", "ramflow-agent"}

    beat = pod(objects, "shop-beat")
    assert "initContainers" not in beat and [c["name"] for c in beat["containers"]] == ["beat"]
    assert ("Service", "shop-flower") in objects
    assert not any(kind == "SidecarSettings" for kind, _ in objects)


def test_every_deployment_by_default_and_a_plain_sidecar_for_old_clusters():
    objects = render("--plain-sidecar")
    for name, worker in (("shop-celery", "celery"), ("shop-beat", "beat")):
        spec = pod(objects, name)
        assert [c["name"] for c in spec["initContainers"]] == ["ramflow-agent"]
        assert [c["name"] for c in spec["containers"]] == ["ramflow", worker]
        assert "restartPolicy" not in spec["containers"][0]
        assert "postStart" in spec["containers"][0]["lifecycle"]
        assert env(spec["containers"][1])["RAMFLOW_SOCKET"] == "/run/ramflow/ramflow.sock"
    assert env(pod(objects, "shop-beat")["containers"][1])["PYTHONPATH"] == AGENT


def test_a_bad_argument_fails_the_render_with_what_is_allowed():
    require("helm")
    done = subprocess.run(["helm", "template", "shop", str(CHART), "--post-renderer", str(RENDERER),
                           "--post-renderer-args", "--deployments"], capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert "known: --deployment REGEX, --plain-sidecar" in done.stderr
