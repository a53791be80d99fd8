"""ramflow added to a user's own Celery Deployment by the injection webhook, end to end.

The webhook is the chart's webhook mode as the real Helm renders it (Kubernetes
1.28, so `--native-sidecar=false`: podman 4.3 cannot run native sidecars), run from
the image under test with the rendered arguments and the certificate of the
rendered Secret, listening on 127.0.0.1. No cluster exists here, so the test plays
the API server's part, and says so: it turns tests/pod/user-worker.yaml's pod
template into the Pod a ReplicaSet creates (generateName, no name, defaults),
picks the MutatingWebhookConfiguration entry whose selectors match (the namespace
is not labelled: /mutate), POSTs an admission.k8s.io/v1 AdmissionReview over TLS
to the Service's host name trusting only the entry's caBundle, applies the
returned RFC 6902 patch with python3-jsonpatch (not ramflow's code), names the
Pod, and plays it with podman. Its tasks must show in the injected sidecar's
/metrics. Run by tests/pod/pod_e2e.py, with its Redis and Celery client.
"""
from __future__ import annotations

import base64
import copy
import http.client
import json
import re
import socket
import ssl
import subprocess
import time
import uuid
from pathlib import Path

import jsonpatch
import yaml

from podman_pod import adapt_pod_for_podman, logs, podman, run_helm_test
from prom_servers import free_port, scrape_metrics, wait_until

REPO = Path(__file__).resolve().parents[2]
RELEASE, NAMESPACE = "ramflow-webhook", "ramflow-system"
WEBHOOK_CONTAINER = "podtest-webhook"
USER_NAMESPACE = "shop"
QUEUE = "shop"
TASKS = 6
USER_POD = "shop-celery-5d8c7b9f4-x7k2p"   # the name the API server would give after admission
WORKER_LIMIT = 384 << 20


def render(sidecar_port: int) -> list[dict]:
    out = subprocess.run(["helm", "template", RELEASE, str(REPO / "helm" / "ramflow"), "--namespace", NAMESPACE,
                          "--kube-version", "1.28.0", "--set", "mode=webhook", "--set", f"sidecar.port={sidecar_port}",
                          "--set", "sidecar.image.pullPolicy=Never"], capture_output=True, text=True, check=True).stdout
    return [d for d in yaml.safe_load_all(out) if d]


def selector_matches(selector: dict | None, labels: dict) -> bool:
    """A LabelSelector as the API server evaluates it (matchLabels and matchExpressions)."""
    selector = selector or {}
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    for e in selector.get("matchExpressions") or []:
        key, op, values = e["key"], e["operator"], e.get("values") or []
        ok = {"In": key in labels and labels[key] in values, "NotIn": key not in labels or labels[key] not in values,
              "Exists": key in labels, "DoesNotExist": key not in labels}[op]
        if not ok:
            return False
    return True


def pod_from_template(deployment: dict, redis_port: int) -> dict:
    """The Pod the ReplicaSet controller asks the API server to create, with the
    defaults the API server fills in before admission; no name yet (generateName)."""
    template = copy.deepcopy(deployment["spec"]["template"])
    spec = template["spec"]
    for c in spec["containers"]:
        for e in c.get("env", []):
            if e["name"] in ("CELERY_BROKER_URL", "CELERY_RESULT_BACKEND"):
                e["value"] = f"redis://127.0.0.1:{redis_port}/0"
        c.setdefault("terminationMessagePath", "/dev/termination-log")
        c.setdefault("terminationMessagePolicy", "File")
    spec.update(restartPolicy="Always", dnsPolicy="ClusterFirst", schedulerName="default-scheduler",
                terminationGracePeriodSeconds=30, enableServiceLinks=True)
    rs = f"{deployment['metadata']['name']}-5d8c7b9f4"
    metadata = template["metadata"]
    metadata.update(generateName=f"{rs}-", namespace=USER_NAMESPACE, creationTimestamp=None,
                    ownerReferences=[{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": rs, "uid": str(uuid.uuid4()),
                                      "controller": True, "blockOwnerDeletion": True}])
    metadata["labels"]["pod-template-hash"] = "5d8c7b9f4"
    return {"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": spec}


def admission_review(pod: dict) -> dict:
    gvk = {"group": "", "version": "v1", "kind": "Pod"}
    gvr = {"group": "", "version": "v1", "resource": "pods"}
    return {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {
        "uid": str(uuid.uuid4()), "kind": gvk, "resource": gvr, "requestKind": gvk, "requestResource": gvr,
        "namespace": USER_NAMESPACE, "operation": "CREATE",
        "userInfo": {"username": "system:serviceaccount:kube-system:replicaset-controller",
                     "groups": ["system:serviceaccounts", "system:serviceaccounts:kube-system", "system:authenticated"]},
        "object": pod, "oldObject": None, "dryRun": False,
        "options": {"kind": "CreateOptions", "apiVersion": "meta.k8s.io/v1"}}}


class Webhook:
    """The client side the API server would be: the Service's host name, the entry's caBundle, TLS only."""

    def __init__(self, port: int, host: str, ca_bundle: str):
        self.port, self.host = port, host
        self.context = ssl.create_default_context(cadata=base64.b64decode(ca_bundle).decode())

    def request(self, method: str, path: str, body: dict | None = None) -> tuple[int, bytes]:
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=10)
        conn = http.client.HTTPSConnection(self.host, self.port, context=self.context, timeout=10)
        conn.sock = self.context.wrap_socket(sock, server_hostname=self.host)  # verifies the name and the CA
        try:
            data = json.dumps(body).encode() if body is not None else None
            conn.request(method, path, body=data, headers={"Content-Type": "application/json"} if data else {})
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            conn.close()

    def review(self, path: str, review: dict) -> dict:
        status, body = self.request("POST", f"{path}?timeout=5s", review)
        if status != 200:
            raise AssertionError(f"POST {path}: HTTP {status} {body[:300]!r}")
        return json.loads(body)

    def outcomes(self) -> dict[str, float]:
        _, body = self.request("GET", "/metrics")
        return {m.group(1): float(m.group(2)) for m in
                re.finditer(r'^ramflow_webhook_admission_reviews_total\{outcome="(\w+)"\} (\S+)$', body.decode(), re.M)}


def start_webhook(objects: list[dict], image: str, workdir: Path) -> Webhook:
    """The rendered webhook container, run from the image under test on 127.0.0.1 with the rendered Secret's files."""
    secret = next(o for o in objects if o["kind"] == "Secret")
    tls = workdir / "webhook-tls"
    tls.mkdir(mode=0o755)
    for key in ("tls.crt", "tls.key"):
        (tls / key).write_bytes(base64.b64decode(secret["data"][key]))
        (tls / key).chmod(0o644)
    ca = workdir / "webhook-ca"  # what the test Pod mounts: the Secret's ca.crt only
    ca.mkdir(mode=0o755)
    (ca / "ca.crt").write_bytes(base64.b64decode(secret["data"]["ca.crt"]))
    (ca / "ca.crt").chmod(0o644)
    container = next(o for o in objects if o["kind"] == "Deployment")["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == image, f"the chart renders the webhook with {container['image']}, not {image}"
    port = free_port()
    args = [f"--listen=127.0.0.1:{port}" if a.startswith("--listen=") else a for a in container["args"]]
    podman("run", "-d", "--rm", "--name", WEBHOOK_CONTAINER, "--network", "host", "--user", "1000:1000", "--read-only",
           "--cap-drop", "ALL", "--security-opt", "no-new-privileges", "-v", f"{tls}:/tls:ro", image, *args)
    config = next(o for o in objects if o["kind"] == "MutatingWebhookConfiguration")
    service = config["webhooks"][0]["clientConfig"]["service"]
    webhook = Webhook(port, f"{service['name']}.{service['namespace']}.svc", config["webhooks"][0]["clientConfig"]["caBundle"])
    wait_until(lambda: webhook.request("GET", "/healthz")[0] == 200, 30, "the webhook's /healthz over TLS")
    return webhook


def entry_for(config: dict, pod: dict, namespace_labels: dict) -> dict:
    """The configuration's entries that would be called for this pod; exactly one must be."""
    called = [w for w in config["webhooks"] if selector_matches(w.get("namespaceSelector"), namespace_labels)
              and selector_matches(w.get("objectSelector"), pod["metadata"].get("labels", {}))]
    assert len(called) == 1, f"entries called: {[w['name'] for w in called]}"
    return called[0]


def injected_pod(c, webhook: Webhook, config: dict, webhook_args: list[str], pod: dict) -> dict | None:
    entry = entry_for(config, pod, {"kubernetes.io/metadata.name": USER_NAMESPACE})
    c.check("the API server would call /mutate for an annotated pod of an unlabelled namespace",
            entry["clientConfig"]["service"]["path"] == "/mutate", entry["name"])
    review = admission_review(pod)
    answer = webhook.review(entry["clientConfig"]["service"]["path"], review)["response"]
    if not c.check("the webhook allows the pod with a JSONPatch for this request",
                   answer["uid"] == review["request"]["uid"] and answer["allowed"] is True and answer.get("patchType") == "JSONPatch",
                   json.dumps({k: v for k, v in answer.items() if k != "patch"})[:300]):
        return None
    patch = json.loads(base64.b64decode(answer["patch"]))
    patched = jsonpatch.apply_patch(pod, patch)  # an RFC 6902 implementation that is not ramflow's
    spec = patched["spec"]
    celery = next(x for x in spec["containers"] if x["name"] == "celery")
    sidecar = next(x for x in spec["containers"] if x["name"] == "ramflow")
    env = {e["name"]: e.get("value") for e in celery["env"]}
    original = pod["spec"]["containers"][0]
    c.check("the patch adds ramflow and keeps the user's container as it was",
            spec["shareProcessNamespace"] is True and spec["containers"][0]["name"] == "ramflow"
            and "restartPolicy" not in sidecar and "--native-sidecar=false" in webhook_args
            and [i["name"] for i in spec["initContainers"]] == ["ramflow-agent"]
            and env["PYTHONPATH"] == "/ramflow-agent/sitecustomize:/app"
            and all(celery[k] == original[k] for k in ("command", "args", "resources", "securityContext", "image")),
            f"{len(patch)} operations; PYTHONPATH {env['PYTHONPATH']}")
    again = webhook.review("/mutate", admission_review(patched))["response"]
    c.check("an injected pod sent again goes through unchanged", again["allowed"] is True and not again.get("patch"),
            json.dumps(again)[:200])
    return patched


def play(patched: dict, sidecar_port: int, workdir: Path) -> str:
    """Names the Pod as the API server does after admission, and plays it; returns the pod's name."""
    pod = copy.deepcopy(patched)
    metadata = pod["metadata"]
    metadata["name"] = USER_POD
    assert USER_POD.startswith(metadata.pop("generateName"))
    for key in ("namespace", "ownerReferences", "creationTimestamp"):
        metadata.pop(key, None)
    adapt_pod_for_podman(metadata, pod["spec"], sidecar_port)
    (workdir / "user-pod.yaml").write_text(yaml.safe_dump(pod, sort_keys=False))
    podman("kube", "play", str(workdir / "user-pod.yaml"))
    return metadata["name"]


def run(c, image: str, redis_port: int, client, workdir: Path) -> None:
    sidecar_port = free_port()
    objects = render(sidecar_port)
    config = next(o for o in objects if o["kind"] == "MutatingWebhookConfiguration")
    args = next(o for o in objects if o["kind"] == "Deployment")["spec"]["template"]["spec"]["containers"][0]["args"]
    t0 = time.monotonic()
    webhook = c.attempt("webhook: ramflowd webhook answers over TLS with the chart's certificate for its Service name",
                        lambda: start_webhook(objects, image, workdir))
    if webhook is None:
        return
    # The test Pod's URL with the webhook's loopback port instead of the Service's 443.
    code, out = run_helm_test(objects, [webhook.host], env={"URL": f"https://{webhook.host}:{webhook.port}"},
                              volumes=(f"{workdir / 'webhook-ca'}:/tls:ro",))
    c.check("helm test: the webhook mode's test pod passes (TLS with the Secret's CA)", code == 0,
            out.strip().splitlines()[-1] if out.strip() else f"exit {code}")
    deployment = yaml.safe_load((REPO / "tests" / "pod" / "user-worker.yaml").read_text())
    patched = injected_pod(c, webhook, config, args, pod_from_template(deployment, redis_port))
    if patched is None:
        return
    name = play(patched, sidecar_port, workdir)
    metric = lambda n, **want: next((v for m, lab, v in scrape_metrics(sidecar_port)  # noqa: E731
                                     if m == n and all(lab.get(k) == x for k, x in want.items())), None)
    up = c.attempt("webhook: the injected sidecar sees the agents of the Celery main and both children", lambda: wait_until(
        lambda: (metric("ramflow_agent_connected_processes") or 0) >= 3, 90, "3 connected agents")
        and f"pod up {time.monotonic() - t0:.0f} s after the webhook started")
    if up is None:
        print("--- podman logs (last 30 lines)\n" + "\n".join(logs(f"{name}-ramflow").splitlines()[-30:]), flush=True)
        return
    for _ in range(TASKS):
        client.send_task("pod.noop", queue=QUEUE).get(timeout=60)
    c.attempt("webhook: the user's tasks show in the injected sidecar's /metrics", lambda: wait_until(
        lambda: metric("ramflow_function_calls_total", function="pod.noop", kind="task") == TASKS, 30,
        f"{TASKS} pod.noop tasks; last {metric('ramflow_function_calls_total', function='pod.noop', kind='task')}")
        and f"{TASKS} pod.noop")
    c.check("webhook: the injected sidecar reads the worker container's limit (384 MiB)",
            metric("ramflow_memory_limit_bytes", source="cgroup") == WORKER_LIMIT,
            str(metric("ramflow_memory_limit_bytes", source="cgroup")))
    outcomes = webhook.outcomes()
    c.check("webhook: its /metrics counted one injection and one already-injected pod",
            (outcomes.get("injected"), outcomes.get("already_injected")) == (1, 1), str(outcomes))


def cleanup(workdir: Path) -> None:
    if (workdir / "user-pod.yaml").exists():
        podman("kube", "down", str(workdir / "user-pod.yaml"), check=False)
    podman("rm", "-f", "--ignore", WEBHOOK_CONTAINER, check=False)
