"""Cardinality bombs against the real ramflowd: what an agent can make the
daemon remember must stay bounded, whatever it sends.

(a) One connection sends calls for 1,000,000 distinct function names and then
100,000 distinct task names: the function table keeps the first K
(--top-functions, default 50) and folds the rest into function="other", every
call is still counted, and ramflowd's RSS grows by less than 8 MiB — under
8 bytes per name, while keeping the names would cost tens of MiB.

(b) Pids coming and going by the thousand (tests/soak/churn_driver.py): 3000
short-lived processes connect, send a task and exit, up to 150 alive at once
against --max-processes 64. Per-process series never exceed the cap, the agent
registry stays within its cap (4 x --max-processes), the series are back to the baseline within 2 sampling
intervals of the last exit, and ramflowd's RSS after the churn is within 4 MiB
of before (measured after a warm-up churn of 400 that fills the caps once).
The churned processes have no worker name: the `worker` label values ramflowd
gives them (slots, docs/metrics.md) stay within the cap over all 3400, while
only ramflow_process_info names a pid.
"""
from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from daemon_under_load import INTERVAL_S, MIB, Ramflowd, Watch, report, totals, wait_until

HERE = Path(__file__).resolve().parent
TOP_FUNCTIONS = 50
FUNCTION_NAMES = 1_000_000
TASK_NAMES = 100_000
RECORDS_PER_PACKET = 512  # the protocol's kMaxRecordsPerMessage
# The table holds K + 2 rows and each process's rings hold a bounded number of
# calls; 8 MiB is under 8 bytes per name sent, so any per-name memory fails.
BOMB_RSS_GROWTH_LIMIT = 8 * MIB

CHURN_CHILDREN = 3000
CHURN_WARMUP_CHILDREN = 400
CHURN_CONCURRENCY = 150
MAX_PROCESSES = 64
# ramflowd sizes the agent registry and the connection cap at 4 x --max-processes
# (src/app/daemon_runtime.cpp): agents may talk before the /proc scan finds them.
REGISTRY_CAP = 4 * MAX_PROCESSES
# The registry holds at most MAX_PROCESSES entries of a few KiB (a task start,
# a task end, a call span each); 4 MiB is ~1.4 KiB per churned pid, so memory
# kept per pid, beyond the cap, fails.
CHURN_RSS_GROWTH_LIMIT = 4 * MIB


def counted(samples: list, name: str, by: str) -> dict:
    """The label values a counter has counted something for (every known one is served, at 0 until then)."""
    return {key: value for key, value in totals(samples, name, by).items() if value}


def function_name(i: int) -> str:
    return f"bomb.fn_{i:07d}"


def calls_packet(seq: int, labels: list[str], kind: str) -> bytes:
    records = ",".join(f'["{label}","{kind}",null,1764109210.0,0.001,1000000,1004096,4096,4096,0,null,null,null]'
                       for label in labels)
    return f'{{"v":1,"seq":{seq},"type":"calls","calls":[{records}]}}'.encode()


def send_bomb(socket_path: str) -> int:
    """Sends the names; returns the number of calls sent."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET) as sock:
        sock.connect(socket_path)
        sock.send(b'{"v":1,"seq":0,"type":"hello","agent":"bomb","python":"3","framework":"none","pool":"none",'
                  b'"worker":"bomb","index":null,"pid":1}')
        seq = 1
        for kind, count, name in (("function", FUNCTION_NAMES, function_name),
                                  ("task", TASK_NAMES, lambda i: f"bomb.task_{i:07d}")):
            for first in range(0, count, RECORDS_PER_PACKET):
                labels = [name(i) for i in range(first, min(count, first + RECORDS_PER_PACKET))]
                sock.send(calls_packet(seq, labels, kind))
                seq += len(labels)
        return seq - 1


def test_function_name_bomb_folds_into_other(tmp_path):
    with Ramflowd(tmp_path, "--top-functions", str(TOP_FUNCTIONS)) as daemon, Watch(daemon) as watch:
        time.sleep(3 * INTERVAL_S)
        before = daemon.rss_bytes()
        start = time.monotonic()
        sent = send_bomb(daemon.socket)
        sent_seconds = time.monotonic() - start

        def all_counted():
            samples = daemon.metrics()
            return samples if sum(totals(samples, "ramflow_function_calls_total").values()) == sent else None

        samples = wait_until(all_counted, 60, f"the {sent} calls to be counted", every=0.25)
        counted_seconds = time.monotonic() - start
        time.sleep(2 * INTERVAL_S)
        after = daemon.rss_bytes()
    peak = max(b for _, b in watch.rss)
    calls = {(labels["function"], labels["kind"]): v for name, labels, v in samples
             if name == "ramflow_function_calls_total"}
    functions = {function for function, _ in calls}
    report(f"function bomb: {sent} calls ({FUNCTION_NAMES} function + {TASK_NAMES} task names) sent in "
           f"{sent_seconds:.1f} s, all counted after {counted_seconds:.1f} s; {len(calls)} series, "
           f"{len(functions)} function label values (K={TOP_FUNCTIONS})")
    report(f"function bomb RSS: before {before / MIB:.1f} MiB, after {after / MIB:.1f} MiB "
           f"({(after - before) / MIB:+.2f} MiB), max {peak / MIB:.1f} MiB; " + watch.scrape_summary())
    assert len(functions) <= TOP_FUNCTIONS + 1
    assert functions - {"other"} == {function_name(i) for i in range(TOP_FUNCTIONS)}, "admission is first come"
    assert calls[("other", "function")] == FUNCTION_NAMES - TOP_FUNCTIONS
    assert calls[("other", "task")] == TASK_NAMES
    assert counted(samples, "ramflow_agent_events_total", "type") == {"hello": 1, "call": sent}
    assert sum(totals(samples, "ramflow_agent_events_rejected_total").values()) == 0
    assert after - before < BOMB_RSS_GROWTH_LIMIT, f"RSS grew {(after - before) / MIB:.2f} MiB over the bomb"


def per_process_view(daemon: Ramflowd, workers: set[str] | None = None) -> tuple[int, int, int]:
    """(ramflow_process_rss_bytes series, pids named by ramflow_process_info, connected agent processes);
    adds the `worker` values of the per-process series to `workers`."""
    samples = daemon.metrics()
    rss_series = sum(1 for name, _, _ in samples if name == "ramflow_process_rss_bytes")
    with_pid = [(name, labels) for name, labels, _ in samples if "pid" in labels]
    assert {name for name, _ in with_pid} <= {"ramflow_process_info"}, "only ramflow_process_info may name a pid"
    if workers is not None:
        workers.update(labels["worker"] for _, labels, _ in samples if "worker" in labels)
    connected = int(totals(samples, "ramflow_agent_connected_processes").get(None, 0))
    return rss_series, len({labels["pid"] for _, labels in with_pid}), connected


class Churn:
    """One run of churn_driver.py, watched: the highest per-process counts seen while it runs
    (each checked against the caps), and how long after its last child the series take to go."""

    def __init__(self, daemon: Ramflowd, tag: str, children: int, baseline: tuple[int, int, int]):
        result_path = daemon.directory / f"churn-{children}.json"
        self.highest = [0, 0, 0]
        self.workers: set[str] = set()  # every `worker` label value seen during the run
        driver = subprocess.Popen(
            [sys.executable, str(HERE / "churn_driver.py"), daemon.socket, str(result_path), "--tag", tag,
             "--children", str(children), "--concurrency", str(CHURN_CONCURRENCY)],
            start_new_session=True)
        give_up = time.monotonic() + 120
        try:
            while driver.poll() is None:
                view = per_process_view(daemon, self.workers)
                self.highest = [max(h, v) for h, v in zip(self.highest, view)]
                assert view[0] <= MAX_PROCESSES and view[1] <= MAX_PROCESSES and view[2] <= REGISTRY_CAP, (
                    f"over the caps ({MAX_PROCESSES} processes, {REGISTRY_CAP} agents) during the churn: "
                    f"rss series, pids, connected agents = {view}")
                assert time.monotonic() < give_up, "churn driver still running after 2 minutes"
                time.sleep(0.1)
        finally:
            if driver.poll() is None:
                os.killpg(driver.pid, signal.SIGKILL)
            driver.wait(timeout=10)
        ended = time.monotonic()
        assert driver.returncode == 0, f"churn driver exited with {driver.returncode}"
        wait_until(lambda: per_process_view(daemon) == (baseline[0], baseline[1], 0), 10,
                   f"per-process series back to the baseline {baseline}", every=0.05)
        self.settled_seconds = time.monotonic() - ended
        self.result = json.loads(result_path.read_text())
        assert self.result["failed"] == 0 and self.result["ok"] == children, self.result


def test_pid_churn_stays_bounded(tmp_path):
    # A tag only the driver's command line carries (not ramflowd's: it gets the
    # regex through the environment), so other Python processes on the machine
    # do not move the baseline.
    tag = f"soakchurn{os.getpid()}x{random.randrange(1 << 30)}"
    with Ramflowd(tmp_path, "--max-processes", str(MAX_PROCESSES), env={"RAMFLOW_PROCESS_MATCH": tag}) as daemon, \
            Watch(daemon) as watch:
        time.sleep(3 * INTERVAL_S)
        baseline = per_process_view(daemon)
        idle = daemon.rss_bytes()
        # The warm-up fills the process table and the agent registry to their caps
        # once: that memory is the caps' price, paid once, not growth.
        warmup = Churn(daemon, tag, CHURN_WARMUP_CHILDREN, baseline)
        time.sleep(4 * INTERVAL_S)
        before = daemon.rss_bytes()
        churn = Churn(daemon, tag, CHURN_CHILDREN, baseline)
        time.sleep(4 * INTERVAL_S)
        after = daemon.rss_bytes()
        samples = daemon.metrics()
    peak = max(b for _, b in watch.rss)
    result, highest = churn.result, churn.highest
    report(f"pid churn: {result['children']} children in {result['seconds']} s (after a warm-up of "
           f"{CHURN_WARMUP_CHILDREN}), up to {result['max_alive']} alive; highest seen: {highest[0]} rss series, "
           f"{highest[1]} pids, {highest[2]} connected agents (caps {MAX_PROCESSES} processes, {REGISTRY_CAP} "
           f"agents); back to baseline {churn.settled_seconds:.2f} s after the last exit "
           f"(warm-up: {warmup.settled_seconds:.2f} s)")
    report(f"pid churn RSS: idle {idle / MIB:.1f} MiB, after the warm-up {before / MIB:.1f} MiB, after the churn "
           f"{after / MIB:.1f} MiB ({(after - before) / MIB:+.2f} MiB), max {peak / MIB:.1f} MiB; "
           + watch.scrape_summary())
    assert highest[0] > 0, "no churned process was ever discovered: the test exercised nothing"
    report(f"pid churn worker names: {len(warmup.workers | churn.workers)} distinct over "
           f"{CHURN_WARMUP_CHILDREN + CHURN_CHILDREN} processes (cap {MAX_PROCESSES})")
    # One slot per process watched at once, plus the driver's other names: `wrapper` while it has
    # a single watched child (which is then `standalone`), `main` otherwise.
    assert len(warmup.workers | churn.workers) <= MAX_PROCESSES + 2, (
        f"worker names are not reused: {sorted(warmup.workers | churn.workers)[:20]}...")
    for run in (warmup, churn):
        assert run.settled_seconds <= 2 * INTERVAL_S, f"per-process series took {run.settled_seconds:.2f} s to go"
    ok = CHURN_WARMUP_CHILDREN + CHURN_CHILDREN
    assert counted(samples, "ramflow_agent_events_total", "type") == {
        "hello": ok, "task_start": ok, "call": ok, "heartbeat": ok}
    assert totals(samples, "ramflow_agent_events_dropped_total", "where") == {"agent": ok, "gap": 0}
    assert sum(totals(samples, "ramflow_agent_events_rejected_total").values()) == 0
    assert after - before < CHURN_RSS_GROWTH_LIMIT, f"RSS grew {(after - before) / MIB:.2f} MiB over the churn"
