"""End to end with a real Celery worker: the agent injected through PYTHONPATH
only (sitecustomize), Redis on 127.0.0.1 started by the test, the real
ramflowd, tasks of known memory behaviour (celery_app/tasks.py). /metrics must
count every task exactly and attribute net self: ~32 MiB per call of the
retaining task (within 10 %), < 2 MiB in total for the no-op. Pools: prefork
(concurrency 2), solo, threads, gevent, eventlet (the report marks the last
three's attribution approximate: their tasks share one process' RSS).

Needs ramflowd (build/default/src/ramflowd, or env RAMFLOWD): skipped while it
is not built unless CI=true. Budget: ~25 s per pool, ~2 min in all (hard stop in the stage).
"""
from __future__ import annotations

import json
import time
import os
import re
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from prom_servers import MemoryCgroup, Servers, free_port, ramflowd_binary, wait_until

REPO = Path(__file__).resolve().parents[2]
AGENT_DIR = REPO / "agent" / "sitecustomize"
TASKS_DIR = Path(__file__).with_name("celery_app")
MIB = 1 << 20
RUNS = {"tasks.retain_32mib": 3, "tasks.churn_64mib": 3, "tasks.noop": 5}

_SAMPLE = re.compile(r'^(\w+)\{([^}]*)\}\s+(\S+)$')
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def scrape(port: int) -> list[tuple[str, dict, float]]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text = response.read().decode()
    samples = []
    for line in text.splitlines():
        m = _SAMPLE.match(line)
        if m:
            samples.append((m.group(1), dict(_LABEL.findall(m.group(2))), float(m.group(3))))
    return samples


def task_value(samples, metric: str, task: str) -> float | None:
    for name, labels, value in samples:
        if name == metric and labels.get("function") == task and labels.get("kind") == "task":
            return value
    return None


def fetch_report(port: int, cgroup: str = "") -> dict | None:
    """The report (of `cgroup`, else ramflowd's choice), or None while ramflowd answers 503."""
    query = "?" + urllib.parse.urlencode({"cgroup": cgroup}) if cgroup else ""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/report{query}", timeout=5) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as error:
        if error.code == 503:
            return None
        raise


def report_rows(port: int, task: str, cgroup: str) -> list[dict]:
    report = wait_until(lambda: fetch_report(port, cgroup), 15, "a 200 from /api/v1/report")
    found = []

    def walk(node):
        if isinstance(node, dict):
            if node.get("function") == task and "approximate" in node:
                found.append(node)
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)
    walk(report)
    return found


@pytest.fixture
def stack(tmp_path):
    ramflowd = ramflowd_binary()
    servers = Servers(tmp_path)
    redis_port, http_port = free_port(), free_port()
    socket_path = tmp_path / "ramflow.sock"
    servers.start("redis", ["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "",
                            "--appendonly", "no", "--dir", str(tmp_path)])
    # Only this test's worker: the report describes one worker group, and on a
    # shared machine another Python process could be the group it picks.
    servers.start("ramflowd", [str(ramflowd), "serve", "--listen", f"127.0.0.1:{http_port}",
                               "--socket", str(socket_path), "--interval", "1s",
                               "--process-match", "celery -A tasks worker"])
    wait_until(lambda: scrape(http_port), 20, "ramflowd's /metrics")
    broker = f"redis://127.0.0.1:{redis_port}/0"
    # The worker in a cgroup of its own, as in a pod: the report of that cgroup is its own.
    cgroup = MemoryCgroup(f"ramflow-celery-e2e-{os.getpid()}", 4 << 30)
    try:
        yield servers, broker, http_port, socket_path, tmp_path, cgroup
    finally:
        servers.stop()
        cgroup.close()


def start_worker(servers: Servers, broker: str, socket_path: Path, home: Path, pool: str, cgroup: MemoryCgroup) -> None:
    env = {
        "PATH": "/usr/bin:/bin", "HOME": str(home),
        "PYTHONPATH": f"{AGENT_DIR}:{TASKS_DIR}",  # the agent: no code change
        "RAMFLOW_SOCKET": str(socket_path),
        "CELERY_BROKER_URL": broker, "CELERY_RESULT_BACKEND": broker,
    }
    servers.start(f"worker-{pool}", cgroup.run_inside([
        "/usr/bin/python3", "-m", "celery", "-A", "tasks", "worker", f"--pool={pool}", "--concurrency=2",
        "--loglevel=INFO", "-n", f"e2e-{pool}@%h", "--without-gossip", "--without-mingle", "--without-heartbeat"]),
        env=env, cwd=home)


def run_tasks(broker: str) -> None:
    from celery import Celery
    client = Celery("e2e-client", broker=broker, backend=broker)  # no agent in this process
    try:
        for name, count in RUNS.items():
            for _ in range(count):
                client.send_task(name).get(timeout=60)  # one at a time: known attribution
    finally:
        client.close()


# The client's Redis result backend keeps a reconnecting thread that complains
# once the test stops Redis; kombu's entry-points deprecation is Debian's.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.parametrize("pool", ["prefork", "solo", "threads", "gevent", "eventlet"])
def test_celery_tasks_are_counted_and_attributed(stack, pool):
    servers, broker, http_port, socket_path, home, cgroup = stack
    start_worker(servers, broker, socket_path, home, pool, cgroup)
    wait_until(lambda: servers.check_running(f"worker-{pool}") or "ready" in servers.log_tail(f"worker-{pool}", 200),
               60, f"the {pool} worker to be ready")
    run_tasks(broker)

    def counted():
        samples = scrape(http_port)
        counts = {t: task_value(samples, "ramflow_function_calls_total", t) for t in RUNS}
        return samples if counts == {t: float(n) for t, n in RUNS.items()} else None

    try:
        samples = wait_until(counted, 30, "exact task counts on /metrics")
    except AssertionError:
        shown = [s for s in scrape(http_port) if s[0].startswith("ramflow_function") or s[0].startswith("ramflow_agent")]
        raise AssertionError(f"counts never matched {RUNS}; /metrics has {shown}\n"
                             f"worker log:\n{servers.log_tail(f'worker-{pool}')}")

    retained = task_value(samples, "ramflow_function_net_self_bytes_total", "tasks.retain_32mib")
    expected = RUNS["tasks.retain_32mib"] * 32 * MIB
    assert abs(retained - expected) <= 0.10 * expected, f"retained {retained / MIB:.1f} MiB, expected {expected / MIB} MiB"
    noop = task_value(samples, "ramflow_function_net_self_bytes_total", "tasks.noop")
    assert noop is not None and noop < 2 * MIB, f"no-op retained {noop / MIB:.2f} MiB"
    churn = task_value(samples, "ramflow_function_net_self_bytes_total", "tasks.churn_64mib")
    assert churn is not None and churn < 0.10 * 64 * MIB * RUNS["tasks.churn_64mib"]

    try:
        rows = report_rows(http_port, "tasks.retain_32mib", "/" + cgroup.path.name)
    except urllib.error.HTTPError as error:
        if error.code != 404 or os.environ.get("CI") == "true":
            raise
        pytest.skip("counts and net self passed; the approximate check waits for /api/v1/report in this ramflowd")
    if pool in ("threads", "gevent", "eventlet"):
        assert rows and all(r["approximate"] for r in rows), rows
    elif rows:
        assert not any(r["approximate"] for r in rows), rows


# `ramflowd run` on a real prefork worker whose children leak and are recycled
# (worker_max_tasks_per_child): the final report keeps the ended children with
# their verdicts, and the Celery parent is the group's main (issue 13).
@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_under_run_the_final_report_keeps_the_recycled_leaking_children(tmp_path):
    import signal
    import subprocess
    servers = Servers(tmp_path)
    redis_port = free_port()
    servers.start("redis", ["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "",
                            "--appendonly", "no", "--dir", str(tmp_path)])
    broker = f"redis://127.0.0.1:{redis_port}/0"
    report_path = tmp_path / "run.json"
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "PYTHONPATH": str(TASKS_DIR),
           "CELERY_BROKER_URL": broker, "CELERY_RESULT_BACKEND": broker}
    run = subprocess.Popen([str(ramflowd_binary()), "run", "--report", str(report_path), "--", "/usr/bin/python3", "-m",
                            "celery", "-A", "tasks", "worker", "--pool=prefork", "--concurrency=2",
                            "--max-tasks-per-child=12", "--loglevel=INFO", "-n", "e2e-run@%h", "--without-gossip",
                            "--without-mingle", "--without-heartbeat"],
                           env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        from celery import Celery
        client = Celery("e2e-client", broker=broker, backend=broker)
        try:
            # One at a time, paced as a worker's real tasks are: each child lives several
            # sampling intervals (one that starts and ends between two samples is never
            # seen; docs/analysis.md), and at least one passes 12 tasks and is recycled.
            for _ in range(30):
                client.send_task("tasks.retain_4mib").get(timeout=60)
                time.sleep(0.25)
        finally:
            client.close()
        run.send_signal(signal.SIGTERM)  # forwarded: Celery's warm shutdown
        out, err = run.communicate(timeout=90)
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
        servers.stop()
    assert run.returncode == 0, err[-2000:]
    report = json.loads(report_path.read_text())
    processes = report["executive"]["processes"]
    main = report["executive"]["worker"]["main_pid"]
    roles = {p["pid"]: p["role"] for p in processes}
    assert roles[main] == "main", processes
    ended_children = [p for p in processes if p["state"] == "ended" and p["role"] == "child"]
    assert ended_children, f"no ended child in the final report: {[(p['pid'], p['role'], p['state']) for p in processes]}"
    leaky = [p for p in ended_children if p["integrity"] == "bloated"]
    assert leaky, f"the recycled leaking children lost their verdicts: {ended_children}"
    assert all(p["end"]["reason"] == "exited" for p in ended_children)
    assert any(p["leak_level"] in ("medium", "high") for p in leaky), [(p["pid"], p["residual_bytes"], p["leak_level"], p["end"]) for p in ended_children]
    assert report["executive"]["integrity"]["status"] == "bloated"
    assert "Processes that ended:" in out, out
    rec = report["executive"]["recommendation"]
    assert rec["request_bytes"] <= rec["limit_bytes"]
    assert rec["celery"] is not None, rec
