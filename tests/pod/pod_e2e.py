"""The chart in real pods: rendered by the real Helm, played by podman (runc,
cgroup v1), a Celery prefork worker in its own container with a 384 MiB limit,
the ramflowd sidecar in another as UID 1000 with the chart's securityContext,
the agent copied in by the chart's init container. Everything the test learns
comes from the sidecar's /metrics and /api/v1/report (host network, 127.0.0.1),
cross-checked against the kernel's files of the worker container's cgroup.
Run by tests/pod/run.sh after the images are built; prints one line per check
and "N passed, M failed" last. Removes every pod it played, also on failure.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "e2e"))
from prom_servers import free_port, get_json, scrape_metrics, wait_until  # noqa: E402
from podman_pod import adapt_pod_for_podman, logs, podman, run_helm_test  # noqa: E402
import webhook_e2e  # noqa: E402

MIB = 1 << 20
WORKER_LIMIT = 384 * MIB
SIDECAR_LIMIT = 128 * MIB
RELEASE = "podtest"
DEPLOYMENT = f"{RELEASE}-ramflow"
POD = f"{DEPLOYMENT}-pod-0"          # podman's name for the Deployment's pod
SIDECAR = f"{POD}-ramflow"
WORKER = f"{POD}-worker"
REDIS_POD = f"{RELEASE}-redis"
MEMCG = Path("/sys/fs/cgroup/memory")
LEAK_TASKS = 24                      # over 2 children: one sees >= 12, the trend test needs 10
NOOP_TASKS = 5


class Checks:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, name: str, ok: bool, detail: str = "") -> bool:
        if ok:
            self.passed += 1
            print(f"ok   {name}" + (f" ({detail})" if detail else ""), flush=True)
        else:
            self.failed += 1
            print(f"FAIL {name}" + (f": {detail}" if detail else ""), flush=True)
        return ok

    def attempt(self, name: str, step) -> object:
        """Runs a step that raises on failure; a failure is one failed check."""
        try:
            result = step()
            self.check(name, True, result if isinstance(result, str) else "")
            return result
        except Exception as error:  # noqa: BLE001: every failure is reported, the test goes on
            self.check(name, False, f"{type(error).__name__}: {error}")
            return None




# ---- the manifests ------------------------------------------------------------------

def render(values: Path, port: int, redis_port: int, *extra: str) -> list[dict]:
    broker = f"redis://127.0.0.1:{redis_port}/0"
    args = ["helm", "template", RELEASE, str(REPO / "helm" / "ramflow"), "--kube-version", "1.28.0",
            "-f", str(values), "--set", f"sidecar.port={port}",
            "--set", f"worker.env[0].name=CELERY_BROKER_URL,worker.env[0].value={broker}",
            "--set", f"worker.env[1].name=CELERY_RESULT_BACKEND,worker.env[1].value={broker}",
            "--set", f"service.port={port}"]
    for e in extra:
        args += ["--set", e]
    out = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    return [d for d in yaml.safe_load_all(out) if d]


def adapt_for_podman(objects: list[dict], port: int) -> dict:
    """The chart's Deployment as podman plays it: only the Deployment (Service and
    ServiceAccount mean nothing to podman), adapted by adapt_pod_for_podman."""
    deployment = next(o for o in objects if o["kind"] == "Deployment")
    adapt_pod_for_podman(deployment["metadata"], deployment["spec"]["template"]["spec"], port)
    return deployment


def redis_pod(image: str, port: int) -> dict:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": REDIS_POD},
            "spec": {"hostNetwork": True, "securityContext": {"runAsUser": 1000, "runAsGroup": 1000},
                     "containers": [{"name": "redis", "image": image, "command": [
                         "redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                         "--appendonly", "no", "--dir", "/tmp"]}]}}


# ---- what the sidecar says ----------------------------------------------------------

def samples(port: int, name: str) -> list[tuple[dict, float]]:
    return [(labels, value) for n, labels, value in scrape_metrics(port) if n == name]


def one(port: int, name: str, **want) -> float | None:
    for labels, value in samples(port, name):
        if all(labels.get(k) == v for k, v in want.items()):
            return value
    return None


def leak_levels(port: int) -> dict[str, str]:
    """worker → current leak level, for every process the leak test has judged."""
    return {labels["worker"]: labels["level"] for labels, v in samples(port, "ramflow_leak_level") if v == 1}


def report(port: int) -> dict:
    return get_json(f"http://127.0.0.1:{port}/api/v1/report", timeout=5)


def container_pid(name: str) -> int:
    return int(podman("inspect", "--format", "{{.State.Pid}}", name).strip())


def container_cgroup(name: str) -> Path:
    """The container's v1 memory cgroup as the host sees it (from its process)."""
    for line in Path(f"/proc/{container_pid(name)}/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        if "memory" in controllers.split(","):
            return MEMCG / path.lstrip("/")
    raise RuntimeError(f"no memory cgroup for {name}")


def kernel_working_set(cgroup: Path) -> int:
    usage = int((cgroup / "memory.usage_in_bytes").read_text())
    stat = dict(line.split() for line in (cgroup / "memory.stat").read_text().splitlines())
    return max(0, usage - int(stat["total_inactive_file"]))


# ---- the worker ---------------------------------------------------------------------

def celery_client(redis_port: int):
    from celery import Celery
    broker = f"redis://127.0.0.1:{redis_port}/0"
    return Celery("pod-client", broker=broker, backend=broker)  # no agent in this process


def redis_answers(port: int) -> bool:
    with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
        s.sendall(b"PING\r\n")
        return s.recv(16).startswith(b"+PONG")


# ---- the test, phase by phase --------------------------------------------------------

class Pods:
    """The two pods as played, and what the test reads of them."""

    def __init__(self, image: str, worker_image: str, workdir: Path):
        self.port, self.redis_port = free_port(), free_port()
        self.image, self.worker_image, self.workdir = image, worker_image, workdir

    def metric(self, name: str, **want) -> float | None:
        return one(self.port, name, **want)

    def oom_kills(self) -> float | None:
        return self.metric("ramflow_oom_kills_total", task="pod.eat_memory")

    def leak_levels(self) -> dict[str, str]:
        return leak_levels(self.port)

    def pod_figures(self) -> tuple[float, float]:
        """(working set, safety margin) from one scrape."""
        s = scrape_metrics(self.port)
        return (next(v for n, _, v in s if n == "ramflow_memory_working_set_bytes"),
                next(v for n, _, v in s if n == "ramflow_safety_margin_ratio"))


def play_worker(c: Checks, pods: Pods, manifest: str, *extra: str) -> None:
    """The chart's Deployment (values.yaml + `extra`), played; waits for the three agents."""
    objects = render(REPO / "tests" / "pod" / "values.yaml", pods.port, pods.redis_port, *extra)
    deployment = adapt_for_podman(objects, pods.port)
    sidecar = next(x for x in deployment["spec"]["template"]["spec"]["containers"] if x["name"] == "ramflow")
    c.check(f"{manifest}: the chart renders the legacy sidecar form with the image under test",
            sidecar["image"] == pods.image and "restartPolicy" not in sidecar, sidecar["image"])
    (pods.workdir / manifest).write_text(yaml.safe_dump(deployment, sort_keys=False))
    t0 = time.monotonic()
    podman("kube", "play", str(pods.workdir / manifest))
    wait_until(lambda: samples(pods.port, "ramflow_build_info"), 90, "the sidecar's /metrics")
    c.attempt(f"{manifest}: the agents of the Celery main and both children connect to the sidecar", lambda: wait_until(
        lambda: (pods.metric("ramflow_agent_connected_processes") or 0) >= 3, 90, "3 connected agents")
        and f"pod up in {time.monotonic() - t0:.0f} s")


def play(c: Checks, pods: Pods) -> None:
    (pods.workdir / "redis.yaml").write_text(yaml.safe_dump(redis_pod(pods.worker_image, pods.redis_port), sort_keys=False))
    podman("kube", "play", str(pods.workdir / "redis.yaml"))
    wait_until(lambda: redis_answers(pods.redis_port), 30, "Redis in its pod")
    play_worker(c, pods, "worker.yaml")


def check_placement(c: Checks, pods: Pods) -> None:
    """The sidecar as the chart runs it, and issue 21: the worker container's cgroup found from it."""
    status = Path(f"/proc/{container_pid(SIDECAR)}/status").read_text()
    uids = next(line.split()[1:] for line in status.splitlines() if line.startswith("Uid:"))
    c.check("ramflowd runs as UID 1000 in its own container", uids == ["1000"] * 4, f"Uid: {' '.join(uids)}")
    roles = sorted(labels["role"] for labels, _ in samples(pods.port, "ramflow_process_rss_bytes"))
    c.check("the sidecar sees the worker container's processes: the main and 2 prefork children",
            roles == ["child", "child", "main"], str(roles))
    worker_cg, sidecar_cg = container_cgroup(WORKER), container_cgroup(SIDECAR)
    cg = wait_until(lambda: report(pods.port), 30, "a report")["system_context"]["cgroup"]
    c.check("the sidecar reads the worker's cgroup through the worker's own mount",
            (cg["route"], cg["route_dir"]) == ("worker_mount", "/sys/fs/cgroup/memory"), f"{cg['route']} {cg['route_dir']}")
    c.check("the cgroup is the worker container's", "/" + str(worker_cg.relative_to(MEMCG)) == cg["path"], cg["path"])
    limit = pods.metric("ramflow_memory_limit_bytes", source="cgroup")
    c.check("ramflow_memory_limit_bytes is the worker container's limit, not the sidecar's",
            limit == WORKER_LIMIT and int((sidecar_cg / "memory.limit_in_bytes").read_text()) == SIDECAR_LIMIT,
            f"{limit:.0f} bytes" if limit else "absent")
    env = dict(e.split("=", 1) for e in json.loads(podman("inspect", "--format", "{{json .Config.Env}}", SIDECAR)))
    declared = int(env["RAMFLOW_MEMORY_LIMIT_BYTES"])
    expected = "agrees" if declared == WORKER_LIMIT else "differs"
    c.check("the Downward API's limit is shown and cross-checked, never used",
            (cg["declared_limit_bytes"], cg["declared_limit_check"], cg["limit_bytes"]) == (declared, expected, WORKER_LIMIT),
            f"podman gave {declared} ({expected}); limit {cg['limit_bytes']}")
    c.check("the sidecar's log names the route", "(route worker_mount)" in logs(SIDECAR))
    # The Service is the sidecar's port on the host network: its name resolves to 127.0.0.1.
    objects = render(REPO / "tests" / "pod" / "values.yaml", pods.port, pods.redis_port)
    code, out = run_helm_test(objects, [f"{DEPLOYMENT}.default.svc"])
    c.check("helm test: the worker mode's test pod passes against the played pod", code == 0 and "sees the worker's processes" in out,
            out.strip().splitlines()[-1] if out.strip() else f"exit {code}")


def check_tasks(c: Checks, pods: Pods, client) -> None:
    for _ in range(NOOP_TASKS):
        client.send_task("pod.noop").get(timeout=60)
    for _ in range(LEAK_TASKS):
        client.send_task("pod.retain_2mib").get(timeout=60)
    counts = lambda: (pods.metric("ramflow_function_calls_total", function="pod.noop", kind="task"),  # noqa: E731
                      pods.metric("ramflow_function_calls_total", function="pod.retain_2mib", kind="task"))
    c.attempt("every task is counted exactly", lambda: wait_until(
        lambda: counts() == (NOOP_TASKS, LEAK_TASKS), 30, f"counts {NOOP_TASKS}/{LEAK_TASKS}; last {counts()}")
        and f"{NOOP_TASKS} noop, {LEAK_TASKS} retain_2mib")
    layers = report(pods.port)["executive"]["layers"]
    c.check("the three layers of the worker group are measured",
            layers["bootstrap_source"] == "agent" and layers["ready_marker"] == "celery_worker_ready"
            and all(isinstance(layers[k], int) and layers[k] > 0 for k in ("bootstrap_bytes", "ecosystem_bytes", "business_bytes")),
            f"bootstrap {layers['bootstrap_bytes']}, ecosystem {layers['ecosystem_bytes']}, business {layers['business_bytes']}")
    c.attempt("the leaking child's leak level is high", lambda: wait_until(
        lambda: "high" in pods.leak_levels().values(), 20, f"a high leak level; last {pods.leak_levels()}") and str(pods.leak_levels()))
    integrity = report(pods.port)["executive"]["integrity"]
    c.check("the group's integrity is BLOATED", integrity["status"] == "bloated", json.dumps(integrity)[:300])


def check_allocation(c: Checks, pods: Pods, client) -> None:
    """Issue 21: the pod-level figures follow a worker allocating 64 MiB, and agree with the kernel."""
    time.sleep(2)
    ws0, margin0 = pods.pod_figures()
    kernel0 = kernel_working_set(container_cgroup(WORKER))
    c.check("the working set is the worker cgroup's, as the kernel counts it", abs(ws0 - kernel0) <= 4 * MIB,
            f"sidecar {ws0 / MIB:.1f} MiB, kernel {kernel0 / MIB:.1f} MiB")
    held = client.send_task("pod.hold_64mib", args=[15])
    ws1, margin1 = wait_until(lambda: (lambda f: f if f[0] >= ws0 + 56 * MIB else None)(pods.pod_figures()), 20,
                              "the 64 MiB in the working set")
    c.check("the working set grows by the 64 MiB the worker allocates", 56 * MIB <= ws1 - ws0 <= 72 * MIB,
            f"+{(ws1 - ws0) / MIB:.1f} MiB")
    c.check("the safety margin drops by 64 MiB of the 384 MiB limit",
            abs(margin1 - (WORKER_LIMIT - ws1) / WORKER_LIMIT) < 1e-6 and 0.145 <= margin0 - margin1 <= 0.19,
            f"{margin0:.3f} -> {margin1:.3f}")
    held.get(timeout=60)
    back = wait_until(lambda: (lambda f: f if f[0] <= ws0 + 8 * MIB else None)(pods.pod_figures()), 20, "the 64 MiB freed")
    c.check("the working set and margin come back when the task frees it", back[1] >= margin0 - 0.025,
            f"{back[0] / MIB:.1f} MiB, margin {back[1]:.3f}")


def check_oom(c: Checks, pods: Pods, client) -> None:
    """A prefork child pushed past the container's limit: the kernel OOM-kills it."""
    victim = client.send_task("pod.eat_memory")
    c.attempt("the OOM kill of the child is counted with its task (fallback watcher)", lambda: wait_until(
        lambda: pods.oom_kills() == 1, 45, "ramflow_oom_kills_total{task=pod.eat_memory} 1")
        and f"source {[lab['source'] for lab, _ in samples(pods.port, 'ramflow_oom_kills_total')]}")
    oom_control = dict(line.split() for line in (container_cgroup(WORKER) / "memory.oom_control").read_text().splitlines())
    c.check("the kernel counted that one kill in the worker container's cgroup", oom_control.get("oom_kill") == "1",
            f"oom_kill {oom_control.get('oom_kill')}")
    victim.get(timeout=30, propagate=False)  # WorkerLostError, returned: the result is settled


def restart_sidecar(c: Checks, pods: Pods, what: str, kept) -> None:
    """SIGKILL of ramflowd's process, as a crash or the OOM killer would do it: podman
    restarts the container (restartPolicy OnFailure as played, Always in the chart) and
    the state comes back from the chart's emptyDir. `kept()` is what must read the same
    after the restart."""
    before_pid, before = container_pid(SIDECAR), kept()
    restores = logs(SIDECAR).count("restored the state")
    os.kill(before_pid, signal.SIGKILL)
    wait_until(lambda: container_pid(SIDECAR) not in (0, before_pid), 60, "podman to restart the sidecar")
    wait_until(lambda: samples(pods.port, "ramflow_build_info"), 60, "the restarted sidecar's /metrics")
    c.check(f"the restarted sidecar restores its state from the emptyDir ({what})",
            logs(SIDECAR).count("restored the state") == restores + 1)
    c.attempt(f"{what} survive(s) the restart", lambda: wait_until(
        lambda: kept() == before, 30, f"{what} = {before}; last {kept()}") and f"{before}")


def check_ebpf_mode(c: Checks, pods: Pods, client) -> None:
    """The chart's eBPF mode as it renders (sidecar.ebpf.enabled: UID 0, only BPF, PERFMON and
    SYS_PTRACE added, RuntimeDefault seccomp) in a podman pod: whatever does not work here
    must be said, by the report and the log, with the reason; what works is checked for
    real. docs/kubernetes.md records what happened (podman 4.3's seccomp refuses bpf()
    without CAP_SYS_ADMIN; its emptyDirs are not writable by a UID 0 without
    CAP_DAC_OVERRIDE)."""
    podman("kube", "down", str(pods.workdir / "worker.yaml"))
    objects = render(REPO / "tests" / "pod" / "values.yaml", pods.port, pods.redis_port, "sidecar.ebpf.enabled=true")
    deployment = adapt_for_podman(objects, pods.port)
    (pods.workdir / "worker-ebpf.yaml").write_text(yaml.safe_dump(deployment, sort_keys=False))
    podman("kube", "play", str(pods.workdir / "worker-ebpf.yaml"))
    c.attempt("eBPF mode: the sidecar serves a report", lambda: wait_until(lambda: report(pods.port), 90, "a report") and "")
    time.sleep(12)  # a few cycles: agents connect (or not), the worker's cgroup is tried again
    r = report(pods.port)
    ebpf, cg = r["system_context"]["ebpf"], r["system_context"]["cgroup"]
    log = logs(SIDECAR)
    agents = pods.metric("ramflow_agent_connected_processes") or 0
    print(f"info eBPF mode in podman: watcher {ebpf['state']} ({ebpf['reason']}); worker cgroup {cg['route']}"
          f" ({cg['missing']}); {agents:.0f} agents connected", flush=True)
    c.check("eBPF mode: the watcher runs, or the report says why not", ebpf["state"] == "active" or bool(ebpf["reason"]),
            ebpf["reason"] or "active")
    # SYS_PTRACE comes with the eBPF mode: UID 0 without it may not open a UID 1000 worker's /proc/PID/root.
    c.check("eBPF mode: the worker's cgroup is read through the worker's mount (the mode adds SYS_PTRACE)",
            cg["route"] == "worker_mount" and cg["limit_bytes"] == WORKER_LIMIT, f"{cg['route']} {cg['missing'] or ''}")
    c.check("eBPF mode: the agents connect, or the log says why not",
            agents >= 3 or "agent socket disabled" in log, f"{agents:.0f} agents")
    if ebpf["state"] != "active":
        return
    victim = client.send_task("pod.eat_memory")
    by_ebpf = lambda: one(pods.port, "ramflow_oom_kills_total", task="pod.eat_memory", source="ebpf")  # noqa: E731
    c.attempt("eBPF mode: the OOM kill is seen by the watcher, with its task", lambda: wait_until(
        lambda: by_ebpf() == 1, 45, f"ramflow_oom_kills_total{{source=ebpf}} 1; last {samples(pods.port, 'ramflow_oom_kills_total')}")
        and "source ebpf")
    victim.get(timeout=30, propagate=False)  # WorkerLostError, returned: the result is settled


def run(c: Checks, pods: Pods) -> None:
    play(c, pods)
    check_placement(c, pods)
    client = celery_client(pods.redis_port)
    try:
        check_tasks(c, pods, client)
        check_allocation(c, pods, client)
        c.attempt("the dashboard renders its three tabs from inside the pod", lambda: dashboard(pods.port))
        restart_sidecar(c, pods, "the leak verdicts", pods.leak_levels)
        check_oom(c, pods, client)
        restart_sidecar(c, pods, "the OOM kill count", pods.oom_kills)
        check_ebpf_mode(c, pods, client)
        podman("kube", "down", str(pods.workdir / "worker-ebpf.yaml"), check=False)
        webhook_e2e.run(c, pods.image, pods.redis_port, client, pods.workdir)
    finally:
        client.close()


def dashboard(port: int) -> str:
    out = subprocess.run(["node", str(REPO / "tests" / "pod" / "check-dashboard.mjs"), f"http://127.0.0.1:{port}/"],
                         capture_output=True, text=True, timeout=120)
    if out.returncode != 0:
        raise AssertionError(out.stdout[-2000:] + out.stderr[-2000:])
    return out.stdout.strip().splitlines()[-1]


def main() -> int:
    image, worker_image = sys.argv[1], sys.argv[2]
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # `timeout` still cleans up
    c = Checks()
    workdir = Path(tempfile.mkdtemp(prefix="ramflow-pod-"))
    # conmon, started by podman, writes a file "oom" into its working directory when
    # its container meets the OOM killer: keep that out of the checkout.
    os.chdir(workdir)
    try:
        c.attempt("the pod test ran to its end", lambda: run(c, Pods(image, worker_image, workdir)) or "")
    finally:
        if c.failed:
            for name in (SIDECAR, WORKER):
                print(f"--- podman logs {name} (last 40 lines)\n" + "\n".join(logs(name).splitlines()[-40:]), flush=True)
        webhook_e2e.cleanup(workdir)
        for manifest in ("worker.yaml", "worker-ebpf.yaml", "redis.yaml"):
            if (workdir / manifest).exists():
                podman("kube", "down", str(workdir / manifest), check=False)
        for pod in (POD, REDIS_POD, webhook_e2e.USER_POD):
            podman("pod", "rm", "-f", "--ignore", pod, check=False)
        left = podman("pod", "ps", "--format", "{{.Name}}", check=False).split()
        c.check("every pod the test played is removed", not {POD, REDIS_POD, webhook_e2e.USER_POD} & set(left), " ".join(left))
        containers = podman("ps", "-a", "--format", "{{.Names}}", check=False).split()
        c.check("the webhook container is removed", webhook_e2e.WEBHOOK_CONTAINER not in containers)
        os.chdir(REPO)
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"{c.passed} passed, {c.failed} failed")
    return 0 if c.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
