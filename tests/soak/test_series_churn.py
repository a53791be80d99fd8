"""Series churn in a real Prometheus while Celery recycles children (issue 20,
"Bounded series"; the budget is in docs/metrics.md, "Cardinality budget").

A real Celery prefork worker (Debian's python3-celery, a real Redis), concurrency
4, worker_max_tasks_per_child=5, fed 20 tasks/s over 25 task names — about 4
children recycled per second — with the ramflow agent, in a memory cgroup of its
own; ramflowd (shipped defaults: 1 s interval) watches it and Debian's Prometheus
scrapes ramflowd every 5 s. The series the TSDB creates
(prometheus_tsdb_head_series_created_total: nothing else is scraped and no rule is
loaded) must stay at most 700 in 240 s for the pod. CI runs
RAMFLOW_CHURN_SECONDS (default 60) at the same rate and projects the 240 s figure:
the series created, plus the creation rate measured after the first 20 s (between
scrapes, which is when the counter moves) times the seconds left to 240.
RAMFLOW_CHURN_SECONDS=240 measures it directly and prints, beside it, what the
first 60 s would have projected. Every task sent must be counted by ramflowd
(a recycled child's last figures are not lost). Prints active series, series
created, the children the pool started (each counts itself in Redis) and the
projection to a day. Active series: the samples of the last scrape (the TSDB
head keeps every series created until its next compaction, every 2 h).

    /usr/bin/python3 -m pytest -q -s tests/soak/test_series_churn.py
"""
from __future__ import annotations

import importlib
import os
import re
import sys
import time
import urllib.request
from pathlib import Path

from daemon_under_load import report

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "e2e"))
from prom_servers import (  # noqa: E402
    CGROUP_V1_MEMORY, MemoryCgroup, Servers, free_port, get_json, ramflowd_binary, scrape_metrics, wait_until,
)

HERE = Path(__file__).resolve().parent
AGENT_DIR = HERE.parents[1] / "agent" / "sitecustomize"
SCRAPE_S = 5
TASKS_PER_SECOND = 20
CONCURRENCY = 4
MAX_TASKS_PER_CHILD = 5
BUDGET_SERIES = 700  # per pod in 240 s (docs/metrics.md)
BUDGET_SECONDS = 240
WARM_UP_S = 20
SHORT_RUN_S = 60  # what CI runs
RUN_S = float(os.environ.get("RAMFLOW_CHURN_SECONDS", SHORT_RUN_S))


def prometheus_own(prometheus: str, name: str) -> float:
    """One of Prometheus' own figures (its /metrics: it does not scrape itself here)."""
    with urllib.request.urlopen(f"{prometheus}/metrics", timeout=5) as response:
        text = response.read().decode()
    return float(re.search(rf"^{name} (\S+)$", text, re.M).group(1))


def series_created(prometheus: str) -> float:
    return prometheus_own(prometheus, "prometheus_tsdb_head_series_created_total")


def creation_rate(trace: list[tuple[float, float]], start: float, end: float) -> float:
    """Series created per second between the counter's first move after `start` and
    its last move before `end`: it moves at scrapes, so whole scrape intervals are
    measured (`trace`: (seconds into the run, counter), polled twice a second)."""
    moves = [(t, v) for (_, before), (t, v) in zip(trace, trace[1:]) if v != before and start <= t <= end]
    if len(moves) < 2 or moves[-1][0] <= moves[0][0]:
        raise AssertionError(f"too few scrapes between {start:.0f} s and {end:.0f} s to measure a rate: {trace}")
    return (moves[-1][1] - moves[0][1]) / (moves[-1][0] - moves[0][0])


def created_at(trace: list[tuple[float, float]], when: float) -> float:
    return max(v for t, v in trace if t <= when)


def query(prometheus: str, expr: str) -> list[dict]:
    return get_json(f"{prometheus}/api/v1/query", {"query": expr})["data"]["result"]


def test_recycled_celery_children_stay_within_the_series_budget(tmp_path):
    tag = f"churnseries{os.getpid()}"
    servers = Servers(tmp_path)
    cgroup = None
    if os.geteuid() == 0 and (CGROUP_V1_MEMORY / "memory.limit_in_bytes").exists():
        cgroup = MemoryCgroup(f"ramflow-churn-{os.getpid()}", 1 << 30)
    try:
        redis_port, ramflowd_port, prometheus_port = free_port(), free_port(), free_port()
        redis_url = f"redis://127.0.0.1:{redis_port}/0"
        servers.start("redis", ["redis-server", "--bind", "127.0.0.1", "--port", str(redis_port),
                                "--save", "", "--appendonly", "no", "--dir", str(tmp_path)])
        sock = tmp_path / "ramflow.sock"
        # The tag reaches ramflowd through the environment: only this test's Celery matches.
        servers.start("ramflowd", [str(ramflowd_binary()), "serve", "--listen", f"127.0.0.1:{ramflowd_port}",
                                   "--socket", str(sock), "--ebpf", "off"],
                      env={**os.environ, "RAMFLOW_PROCESS_MATCH": tag + "[@]"})
        config = tmp_path / "prometheus.yaml"
        config.write_text(
            f'{{"global": {{"scrape_interval": "{SCRAPE_S}s"}}, "scrape_configs": [{{"job_name": "ramflow", '
            f'"static_configs": [{{"targets": ["127.0.0.1:{ramflowd_port}"], '
            f'"labels": {{"namespace": "churn", "pod": "celery-worker-7d4b9c8f6-churn"}}}}]}}]}}')
        servers.start("prometheus", ["prometheus", f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                                     f"--web.listen-address=127.0.0.1:{prometheus_port}"])
        prometheus = f"http://127.0.0.1:{prometheus_port}"
        wait_until(lambda: urllib.request.urlopen(f"{prometheus}/-/ready", timeout=2).status == 200, 30,
                   "prometheus to be ready")
        worker = ["/usr/bin/python3", "-m", "celery", "-A", "churn_celery", "worker", "--pool=prefork",
                  f"--concurrency={CONCURRENCY}", f"--max-tasks-per-child={MAX_TASKS_PER_CHILD}", "-n", f"{tag}@%h",
                  "--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel=WARNING"]
        env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": str(tmp_path), "CHURN_REDIS": redis_url,
               "PYTHONPATH": f"{AGENT_DIR}:{HERE}", "RAMFLOW_SOCKET": str(sock), "PYTHONDONTWRITEBYTECODE": "1"}
        servers.start("celery", cgroup.run_inside(worker) if cgroup else worker, env=env, cwd=tmp_path)
        os.environ["CHURN_REDIS"] = redis_url
        tasks = importlib.import_module("churn_celery")
        wait_until(lambda: query(prometheus, f'count(ramflow_process_info{{role="child"}}) == {CONCURRENCY}'), 60,
                   f"Prometheus to see the Celery main and its {CONCURRENCY} children")

        began = time.monotonic()
        sent, trace, next_poll = 0, [], 0.0
        while (elapsed := time.monotonic() - began) < RUN_S:
            if elapsed >= next_poll:
                trace.append((elapsed, series_created(prometheus)))
                next_poll = elapsed + 0.5
            while sent < elapsed * TASKS_PER_SECOND:
                tasks.app.send_task(tasks.TASK_NAMES[sent % len(tasks.TASK_NAMES)])
                sent += 1
            time.sleep(0.01)
            servers.check_running("celery")

        def tasks_counted() -> float:
            return sum(v for n, l, v in scrape_metrics(ramflowd_port)
                       if n == "ramflow_function_calls_total" and l["kind"] == "task")
        deadline = time.monotonic() + 30  # a worker behind on a loaded machine catches up
        while (counted := tasks_counted()) < sent and time.monotonic() < deadline:
            time.sleep(0.5)
        time.sleep(SCRAPE_S + 1)  # a scrape after the last task
        ended = time.monotonic() - began
        created = series_created(prometheus)
        in_head = prometheus_own(prometheus, "prometheus_tsdb_head_series")
        active = float(query(prometheus, 'scrape_samples_scraped{job="ramflow"}')[0]["value"][1])
        children = int(tasks.redis.Redis.from_url(redis_url).get(tasks.CHILDREN_KEY))
        ever = "[15m]"  # longer than the test: every sample Prometheus has
        children_seen = query(prometheus, f'count(last_over_time(ramflow_process_info{{role="child"}}{ever}))')
        info_series = query(prometheus, f'count(last_over_time(ramflow_process_info{ever}))')
        other_series = query(prometheus, f'count(last_over_time({{job="ramflow",__name__!="ramflow_process_info"}}{ever}))')
        with_pid = query(prometheus, 'count by (__name__) ({pid!=""})')
    finally:
        servers.stop()
        if cgroup:
            cgroup.close()

    rate = creation_rate(trace, WARM_UP_S, RUN_S)
    projected = created + rate * max(0.0, BUDGET_SECONDS - RUN_S)
    per_day = created + rate * (86400 - RUN_S)
    seen, info, others = (int(r[0]["value"][1]) if r else 0 for r in (children_seen, info_series, other_series))
    report(f"series churn: {sent} tasks sent in {RUN_S:.0f} s ({sent / RUN_S:.1f}/s over 25 names), {counted:.0f} "
           f"counted by ramflowd; {children} children started ({children - CONCURRENCY} recycled, "
           f"{(children - CONCURRENCY) / RUN_S:.1f}/s), {seen} seen by the {SCRAPE_S} s scrapes")
    report(f"series churn: {active:.0f} active series (one scrape), {in_head:.0f} in the TSDB head, {created:.0f} "
           f"created by {ended:.0f} s (the last task sent at {RUN_S:.0f} s), then {rate * 60:.1f}/min -> {projected:.0f} in {BUDGET_SECONDS} s (budget "
           f"{BUDGET_SERIES}), ~{per_day:,.0f} per day at this rate")
    report(f"series churn: of the series created, {info} are ramflow_process_info (one per process a scrape saw) and "
           f"{others} all the others together (they do not grow with recycling)")
    if RUN_S >= 2 * SHORT_RUN_S:
        early = created_at(trace, SHORT_RUN_S) + creation_rate(trace, WARM_UP_S, SHORT_RUN_S) * (BUDGET_SECONDS - SHORT_RUN_S)
        report(f"series churn: the first {SHORT_RUN_S} s projected {early:.0f} in {BUDGET_SECONDS} s; measured "
               f"{created:.0f} in {RUN_S:.0f} s")
    assert {s["metric"]["__name__"] for s in with_pid} == {"ramflow_process_info"}, with_pid
    assert counted == sent, f"ramflowd counted {counted:.0f} tasks of the {sent} sent"
    assert seen >= RUN_S / SCRAPE_S, f"too few recycled children seen ({seen}) for the test to mean anything"
    assert projected <= BUDGET_SERIES, f"{projected:.0f} series in {BUDGET_SECONDS} s, budget {BUDGET_SERIES}"
