"""End to end on real servers on 127.0.0.1, all started and stopped here: Debian's
Prometheus (1 s scrape and evaluation, deploy/prometheus/ramflow-rules.yaml with
short `for:` values) scraping ramflowd, Debian's Alertmanager (clustering off)
delivering to a webhook receiver in this process, Redis, and a Celery prefork
worker with the ramflow agent injected, running in a real v1 memory cgroup with a
256 MiB limit.

The tests run in file order as one scenario: page cache alone (no OOM-risk alert),
a leak up to a real OOM kill (OOM-risk alert before it, OOM-kill alert after it),
then every dashboard query over the whole run.

Needs root, cgroup v1 memory, and ramflowd (build/default/src/ramflowd, or env
RAMFLOWD; extra `serve` flags in env RAMFLOWD_ARGS). Budget: under 6 minutes.
"""
from __future__ import annotations

import importlib
import json
import os
import re
import shlex
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from prom_servers import MemoryCgroup, Servers, Webhook, free_port, get_json, ramflowd_binary, wait_until

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "deploy" / "prometheus"))
sys.path.insert(0, str(REPO / "grafana" / "lib"))
import lint  # noqa: E402
import set_knobs  # noqa: E402

NAMESPACE = "ramflow-e2e"
POD = "celery-worker-7d4b9c8f6-e2e01"  # Deployment-shaped: workload "celery-worker"
LIMIT = 256 << 20
# Shipped defaults stay untouched; the test's copy waits seconds, not minutes.
SHORT_KNOBS = {
    "oomRiskFor": "3s",
    "timeToOOMFor": "2s",
    "leakFor": "2s",
    "oomKillWindow": "3m",
    "limitBelowRecommendedFor": "2s",
    "noLimitFor": "2s",
    "agentSilentFor": "5s",
    "sidecarDownFor": "5s",
    "fleetInterval": "1s",
}
# Panels that show Kubernetes object facts: they need kube-state-metrics, absent here.
KUBE_STATE_METRICS_PANELS = {
    "Kubernetes: container memory limits and requests",
    "Kubernetes: container restarts and last termination",
}
AGENT_DIR = REPO / "agent" / "sitecustomize"


@dataclass
class Stack:
    prometheus: str
    webhook: Webhook
    cgroup: MemoryCgroup
    servers: Servers
    tasks: object
    cgroup_label: str = ""
    started: float = field(default_factory=time.time)
    oom_kill_at: float | None = None

    def query(self, expr: str) -> list[dict]:
        body = get_json(f"{self.prometheus}/api/v1/query", {"query": expr})
        return body["data"]["result"]

    def query_range(self, expr: str, start: float, end: float, step: float = 2) -> list[dict]:
        params = {"query": expr, "start": f"{start:.3f}", "end": f"{end:.3f}", "step": str(step)}
        return get_json(f"{self.prometheus}/api/v1/query_range", params, timeout=20)["data"]["result"]


def _requirements() -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root to create a v1 memory cgroup")
    if not Path("/sys/fs/cgroup/memory/memory.limit_in_bytes").exists():
        pytest.skip("needs the cgroup v1 memory controller at /sys/fs/cgroup/memory")


def _write_json(path: Path, content: dict) -> Path:
    path.write_text(json.dumps(content, indent=2))  # JSON is YAML for both servers
    return path


def _start_alertmanager(servers: Servers, tmp: Path, webhook: Webhook) -> str:
    port = free_port()
    config = {
        "route": {
            "receiver": "webhook",
            "group_by": ["alertname", "namespace", "pod"],
            "group_wait": "1s",
            "group_interval": "1s",
            "repeat_interval": "1h",
        },
        "receivers": [{"name": "webhook", "webhook_configs": [{"url": webhook.url, "send_resolved": True}]}],
    }
    servers.start("alertmanager", [
        "prometheus-alertmanager", f"--config.file={_write_json(tmp / 'alertmanager.yaml', config)}",
        f"--storage.path={tmp / 'alertmanager'}", f"--web.listen-address=127.0.0.1:{port}",
        "--cluster.listen-address=",
    ])
    wait_until(lambda: _ready(servers, "alertmanager", port), 30, f"alertmanager to be ready on 127.0.0.1:{port}")
    return f"127.0.0.1:{port}"


def _start_prometheus(servers: Servers, tmp: Path, ramflowd_port: int, alertmanager: str | None) -> str:
    """Prometheus scraping ramflowd every second with the rules (short knobs) loaded."""
    port = free_port()
    rules = tmp / "ramflow-rules.yaml"
    rules.write_text(set_knobs.apply(set_knobs.RULES.read_text(), SHORT_KNOBS))
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(rules)],
        "scrape_configs": [{
            "job_name": "ramflow",
            "static_configs": [{
                "targets": [f"127.0.0.1:{ramflowd_port}"],
                "labels": {"namespace": NAMESPACE, "pod": POD},
            }],
        }],
    }
    if alertmanager:
        config["alerting"] = {"alertmanagers": [{"static_configs": [{"targets": [alertmanager]}]}]}
    servers.start("prometheus", [
        "prometheus", f"--config.file={_write_json(tmp / 'prometheus.yaml', config)}",
        f"--storage.tsdb.path={tmp / 'prometheus'}", f"--web.listen-address=127.0.0.1:{port}",
    ])
    wait_until(lambda: _ready(servers, "prometheus", port), 30, f"prometheus to be ready on 127.0.0.1:{port}")
    return f"http://127.0.0.1:{port}"


def _dashboards() -> dict[str, dict]:
    return {path.name: json.loads(path.read_text()) for path in sorted((REPO / "grafana" / "dashboards").glob("*.json"))}


def _dashboard_values(range_seconds: int) -> dict[str, str]:
    return {
        "namespace": NAMESPACE,
        "pod": POD,
        "worker": ".*",
        "__rate_interval": "5s",
        "__interval": "2s",
        "__range": f"{range_seconds}s",
    }


def _ready(servers: Servers, name: str, port: int) -> bool:
    servers.check_running(name)
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/-/ready", timeout=2) as response:
        return response.status == 200


def test_rules_and_every_dashboard_query_are_accepted_by_prometheus(tmp_path: Path):
    """Runs without ramflowd or root: a real Prometheus parses every query and rule."""
    servers = Servers(tmp_path)
    try:
        prometheus = _start_prometheus(servers, tmp_path, free_port(), None)
        refused = []
        for name, board in _dashboards().items():
            for query in lint.queries(board):
                expr = lint.substitute(query["expr"], _dashboard_values(300))
                try:
                    get_json(f"{prometheus}/api/v1/query", {"query": expr})
                except urllib.error.HTTPError as error:
                    refused.append(f"{name}: {query['panel']} {query['refId']}: {error.read().decode()}")
        assert not refused, "Prometheus refused:\n" + "\n".join(refused)

        def evaluated_rules():
            groups = get_json(f"{prometheus}/api/v1/rules")["data"]["groups"]
            rules = [rule for group in groups for rule in group["rules"]]
            return rules if rules and all(not r["lastEvaluation"].startswith("0001") for r in rules) else None

        rules = wait_until(evaluated_rules, 20, "every rule to be evaluated once")
        unhealthy = [f"{r['name']}: {r.get('lastError')}" for r in rules if r["health"] != "ok"]
        assert not unhealthy, "rules failing to evaluate:\n" + "\n".join(unhealthy)
    finally:
        servers.stop()


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    _requirements()
    ramflowd = ramflowd_binary()
    tmp = tmp_path_factory.mktemp("prom-e2e")
    servers, webhook = Servers(tmp), Webhook()
    cgroup = MemoryCgroup(f"ramflow-e2e-{os.getpid()}", LIMIT)
    try:
        redis_port, ramflowd_port = free_port(), free_port()
        redis_url = f"redis://127.0.0.1:{redis_port}/0"
        servers.start("redis", ["redis-server", "--bind", "127.0.0.1", "--port", str(redis_port),
                                "--save", "", "--appendonly", "no", "--dir", str(tmp)])
        socket_path = tmp / "ramflow.sock"
        servers.start("ramflowd", [str(ramflowd), "serve", "--listen", f"127.0.0.1:{ramflowd_port}",
                                   "--socket", str(socket_path), "--interval", "1s", "--bucket", "1s",
                                   *shlex.split(os.environ.get("RAMFLOWD_ARGS", ""))])
        prometheus = _start_prometheus(servers, tmp, ramflowd_port, _start_alertmanager(servers, tmp, webhook))
        env = {
            "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
            "HOME": str(tmp),
            "PYTHONPATH": f"{AGENT_DIR}:{Path(__file__).parent}",
            "RAMFLOW_SOCKET": str(socket_path),
            "PROM_E2E_REDIS": redis_url,
        }
        servers.start("celery", cgroup.run_inside([
            "/usr/bin/python3", "-m", "celery", "-A", "prom_tasks", "worker", "--pool=prefork",
            "--concurrency=1", "--loglevel=INFO", "-n", "e2e@%h",
            "--without-gossip", "--without-mingle", "--without-heartbeat",
        ]), env=env, cwd=tmp)
        os.environ["PROM_E2E_REDIS"] = redis_url
        tasks = importlib.import_module("prom_tasks")
        result = Stack(prometheus, webhook, cgroup, servers, tasks)
        tasks.noop.delay().get(timeout=60)
        limit_series = wait_until(
            lambda: result.query(f'ramflow_memory_limit_bytes{{namespace="{NAMESPACE}", source="cgroup"}} == {cgroup.limit_bytes}'),
            30, f"Prometheus to scrape ramflowd's limit of the test cgroup ({cgroup.limit_bytes} bytes)",
        )
        result.cgroup_label = limit_series[0]["metric"]["cgroup"]
        wait_until(lambda: result.query(f'ramflow_agent_connected_processes{{namespace="{NAMESPACE}"}} >= 1'),
                   30, "the agent in the Celery worker to reach ramflowd")
        yield result
    finally:
        servers.stop()
        webhook.close()
        cgroup.close()


def _absent_metrics(stack: Stack, exprs: list[str]) -> list[str]:
    """The ramflow_* names these expressions use that Prometheus never received."""
    known = set(get_json(f"{stack.prometheus}/api/v1/label/__name__/values")["data"])
    used = {name for expr in exprs for name in re.findall(r"(?<![:\w])ramflow_\w+", expr)}
    return sorted(used - known)


def _oom_risk_seen_in(stack: Stack, seconds: int) -> list[dict]:
    return stack.query(f'count_over_time(ALERTS{{alertname="RamflowOOMRisk", namespace="{NAMESPACE}"}}[{seconds}s])')


def test_page_cache_alone_raises_no_oom_risk(stack: Stack, tmp_path: Path):
    fs_type = subprocess.run(["stat", "-f", "-c", "%T", str(tmp_path)], capture_output=True, text=True).stdout.strip()
    assert fs_type != "tmpfs", "the file must live on a disk: tmpfs pages are shmem, not page cache"
    began = time.time()
    big, hot = tmp_path / "big", tmp_path / "hot"
    # Sparse files: reading their holes fills the page cache without disk I/O.
    for path, size in ((big, 4 * LIMIT), (hot, LIMIT * 3 // 4)):
        with open(path, "wb") as handle:
            handle.truncate(size)
    # One pass over 1 GiB fills the limit with inactive cache; reading `hot` again and
    # again makes its pages active, so the working set nears the limit too.
    subprocess.run(stack.cgroup.run_inside(["cat", str(big), str(hot), str(hot), str(hot), str(hot)]),
                   stdout=subprocess.DEVNULL, check=True, timeout=60)
    assert stack.cgroup.nonreclaimable_bytes() < LIMIT // 2, "the load must be page cache, not anonymous memory"
    time.sleep(3 + 12)  # oomRiskFor 3s + scrape, evaluation and delivery, with room to spare
    window = int(time.time() - began) + 1
    usage = stack.query(f'max_over_time(ramflow_memory_usage_bytes{{cgroup="{stack.cgroup_label}"}}[{window}s])')
    assert usage and float(usage[0]["value"][1]) > 0.9 * LIMIT, f"ramflowd never saw the cache fill the limit: {usage}"
    assert not _oom_risk_seen_in(stack, window), "RamflowOOMRisk went pending or firing on page cache alone"
    assert not stack.webhook.alerts("RamflowOOMRisk"), "RamflowOOMRisk reached the webhook on page cache alone"


def _watch_oom_kills(stack: Stack, stop: threading.Event) -> None:
    before = stack.cgroup.oom_kills()
    while not stop.is_set():
        if stack.cgroup.oom_kills() > before:
            stack.oom_kill_at = time.monotonic()
            return
        time.sleep(0.05)


def test_oom_risk_reaches_webhook_before_the_oom_kill_and_the_kill_after(stack: Stack):
    stop = threading.Event()
    watcher = threading.Thread(target=_watch_oom_kills, args=(stack, stop), daemon=True)
    watcher.start()
    deadline = time.monotonic() + 150
    try:
        # Fast to 75 % of the limit, then 1 MiB/s: a leak slow enough to be caught,
        # as real ones are, and fast enough to finish in the budget.
        while stack.oom_kill_at is None and time.monotonic() < deadline:
            slow = stack.cgroup.nonreclaimable_bytes() >= 0.75 * LIMIT
            try:
                stack.tasks.leak.delay(1 if slow else 8).get(timeout=10)
            except Exception:  # the child died in the task: the OOM kill
                pass
            if slow:
                time.sleep(1)
    finally:
        stop.set()
        watcher.join(timeout=2)
    assert stack.oom_kill_at is not None, "the leak never reached an OOM kill within 150 s"
    risk = stack.webhook.alerts("RamflowOOMRisk")
    assert risk, "RamflowOOMRisk never reached the webhook; metrics ramflowd does not serve: " + ", ".join(
        _absent_metrics(stack, ["ramflow_nonreclaimable_margin_ratio ramflow_oom_kills_total"]))
    assert risk[0]["at"] < stack.oom_kill_at, (
        f"RamflowOOMRisk arrived {risk[0]['at'] - stack.oom_kill_at:.1f}s after the OOM kill"
    )
    assert risk[0]["labels"]["severity"] == "critical"
    assert risk[0]["labels"]["margin"] == "non-reclaimable"
    assert risk[0]["labels"]["cgroup"] == stack.cgroup_label
    assert risk[0]["annotations"]["runbook_url"].endswith("docs/runbooks.md#ramflowoomrisk")

    killed = wait_until(lambda: stack.webhook.alerts("RamflowOOMKilled"), 45, "RamflowOOMKilled at the webhook")
    assert killed[0]["at"] > stack.oom_kill_at
    assert killed[0]["labels"]["cgroup"] == stack.cgroup_label
    assert killed[0]["labels"]["task"] == "prom_tasks.leak", "the kill should be pinned on the running task"


def test_every_dashboard_query_returns_data(stack: Stack):
    boards = _dashboards()
    assert len(boards) == 3
    titled = {item["title"] for board in boards.values() for item in lint.all_panels(board)}
    assert KUBE_STATE_METRICS_PANELS <= titled, "exempt panels renamed: update KUBE_STATE_METRICS_PANELS"
    end = time.time()
    values = _dashboard_values(int(end - stack.started) + 1)
    empty, empty_exprs, checked = [], [], 0
    for name, board in boards.items():
        for query in lint.queries(board):
            if query["panel"] in KUBE_STATE_METRICS_PANELS:
                continue
            checked += 1
            if not stack.query_range(lint.substitute(query["expr"], values), stack.started, end):
                empty.append(f"{name}: {query['panel']} {query['refId']}")
                empty_exprs.append(query["expr"])
    assert not empty, f"{len(empty)} of {checked} queries returned no data:\n" + "\n".join(empty) + (
        "\nmetrics ramflowd does not serve: " + ", ".join(_absent_metrics(stack, empty_exprs)))

    for label, match in (("namespace", "ramflow_build_info"), ("pod", "ramflow_build_info"), ("worker", "ramflow_process_rss_bytes")):
        found = get_json(f"{stack.prometheus}/api/v1/label/{label}/values", {"match[]": match})["data"]
        assert [v for v in found if v], f"variable ${label} would be empty (label_values({match}, {label}))"


def test_recommend_reads_the_fleet_history_from_prometheus(stack: Stack):
    selector = f'{{namespace="{NAMESPACE}",workload="celery-worker"}}'
    recorded = wait_until(
        lambda: stack.query(f"namespace_workload:ramflow_recommended_memory_limit_bytes:max_7d{selector}"),
        60, "the fleet recording rule for the recommended limit")
    out = subprocess.run([str(ramflowd_binary()), "recommend", "--prometheus", stack.prometheus, "--selector", selector,
                          "--output", "json"], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    readout = json.loads(out.stdout)
    assert readout["limit"]["bytes"] >= float(recorded[0]["value"][1]) * 0.999
    assert readout["limit"]["quantity"].endswith(("Mi", "Gi"))
    text = subprocess.run([str(ramflowd_binary()), "recommend", "--prometheus", stack.prometheus, "--selector", selector],
                          capture_output=True, text=True, timeout=30)
    assert text.returncode == 0 and "resources:" in text.stdout and "max over replicas and 7 days" in text.stdout
    bad = subprocess.run([str(ramflowd_binary()), "recommend", "--prometheus", stack.prometheus, "--selector", "nope"],
                         capture_output=True, text=True, timeout=30)
    assert bad.returncode == 2 and "--selector" in bad.stderr


def test_sidecar_down_reaches_webhook(stack: Stack):
    stopped_at = time.monotonic()
    stack.servers.stop_one("ramflowd")
    # Before Prometheus's first scrape, absent(up) may already have fired (labels
    # {job} only): look at what arrives after the stop, from the up == 0 branch.
    down = wait_until(lambda: [a for a in stack.webhook.alerts("RamflowSidecarDown")
                               if a["at"] > stopped_at and "pod" in a["labels"]],
                      30, "RamflowSidecarDown at the webhook")
    assert down[0]["labels"]["namespace"] == NAMESPACE and down[0]["labels"]["pod"] == POD
