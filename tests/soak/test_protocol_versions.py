"""Every agent against the real ramflowd (docs/protocol.md, "Versions"):
the last protocol-1 agent (agent/ramflow from git) is still counted call by
call, and the last protocol-2 agent's and this agent's per-function figures
and net-self table reach /metrics and /api/v1/report, where the table adds up
to the growth since ready. The other direction (this agent against a
protocol-1 or protocol-2 ramflowd) is tests/unit/ingest/protocol_compat_test.cpp."""
from __future__ import annotations

import json
import os
import subprocess
import tarfile
import textwrap
import time
import urllib.request
from pathlib import Path

import pytest

from daemon_under_load import MIB, Ramflowd, totals, wait_until

REPO = Path(__file__).resolve().parents[2]
RELEASES = {  # the last commit of each earlier protocol, and its agent's version
    "protocol1": ("aa60dd8afdf9c2ed6c7ea213e5555bf1da86ab55", "0.1.0"),
    "protocol2": ("7f27ad1974ec0e268befcf333bb59c8255fc2748", "0.2.0"),
}

SCRIPT = """
    import sys, time, ramflow
    kept = []

    @ramflow.track("v.keep")
    def keep():
        b = bytearray(1 << 20)
        for i in range(0, len(b), 4096):
            b[i] = 1
        kept.append(b)

    @ramflow.track("v.quiet")
    def quiet():
        pass

    ramflow.mark_ready()
    for _ in range(32):
        keep()
    for _ in range(5000):
        quiet()
    with ramflow.task("v.task"):
        quiet()
    print(ramflow.__version__, flush=True)
    sys.stdin.readline()
"""


def released_agent(tmp_path: Path, release: str) -> Path:
    commit = RELEASES[release][0]
    archive = tmp_path / f"{release}.tar"
    done = subprocess.run(["git", "-C", str(REPO), "archive", "-o", str(archive), commit, "agent/ramflow"],
                          capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"no git history of {commit}: {done.stderr.decode()[-200:]}")
    with tarfile.open(archive) as tar:
        tar.extractall(tmp_path / release)
    return tmp_path / release / "agent"


def run_worker(agent_dir: Path, daemon: Ramflowd, tag: str) -> subprocess.Popen:
    """`tag` in its command line: the word the daemon's --process-match watches."""
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(agent_dir), "RAMFLOW_SOCKET": daemon.socket}
    return subprocess.Popen(["/usr/bin/python3", "-c", textwrap.dedent(SCRIPT), tag], env=env, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def calls(daemon: Ramflowd) -> dict:
    return {(labels["function"], labels["kind"]): v for name, labels, v in daemon.metrics()
            if name == "ramflow_function_calls_total" and labels["function"].startswith("v.")}


EXPECTED = {("v.keep", "function"): 32, ("v.quiet", "function"): 5001, ("v.task", "task"): 1}


def report(daemon: Ramflowd) -> dict | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{daemon.port}/api/v1/report", timeout=5) as r:
            return json.loads(r.read())
    except urllib.error.HTTPError:
        return None


@pytest.mark.parametrize("agent", ["protocol1", "protocol2", "current"])
def test_each_agent_is_counted_exactly_and_its_table_adds_up(tmp_path, agent):
    agent_dir = released_agent(tmp_path, agent) if agent in RELEASES else REPO / "agent"
    # Only the worker (its command line carries the tag; ramflowd gets it through its
    # environment): the report must not describe another Python process of this machine.
    tag = f"protocolversions{os.getpid()}"
    with Ramflowd(tmp_path, env={"RAMFLOW_PROCESS_MATCH": tag}) as daemon:
        worker = run_worker(agent_dir, daemon, tag)
        try:
            version = worker.stdout.readline().strip()
            assert version == RELEASES.get(agent, (None, "0.3.0"))[1], worker.stderr.read()
            wait_until(lambda: calls(daemon) == EXPECTED, 20, f"exact counts from the {agent} agent")
            samples = daemon.metrics()
            rejected = totals(samples, "ramflow_agent_events_rejected_total", "reason")
            assert not any(rejected.values()), rejected  # every reason is published, at 0 when none

            def table():
                r = report(daemon)
                ns = r and r["execution_flow"]["net_self"]
                rows = {row["function"]: row for row in ns["rows"]} if ns else {}
                complete = all(rows.get(f, {}).get("calls") == n for (f, _), n in EXPECTED.items())
                return (ns, rows) if complete and ns["reconciliation"]["processes"] == 1 else None

            try:
                ns, rows = wait_until(table, 20, "the net-self table in the report")
            except AssertionError:
                r = report(daemon)
                raise AssertionError(f"no complete table; last: {r and r['execution_flow']['net_self']}")
        finally:
            worker.kill()
            worker.wait()
    keep = rows["v.keep"]
    rc = ns["reconciliation"]
    assert abs(keep["net_self_bytes"] - 32 * MIB) < 2 * MIB, keep
    assert keep["freed_bytes"] <= keep["gross_bytes"] and keep["net_self_bytes"] <= keep["gross_bytes"]
    assert rc["tracked_net_bytes"] + rc["outside_tracked_bytes"] == rc["growth_since_ready_bytes"]
    # What the tracked calls kept is what the process grew by since ready, to a few MiB.
    assert abs(rc["outside_tracked_bytes"]) < 4 * MIB, rc
    if agent != "protocol1":
        assert rows["v.quiet"]["measured_calls"] < rows["v.quiet"]["calls"] == 5001
