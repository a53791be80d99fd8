"""The sidecar killed with SIGKILL and restarted: it must come back knowing what
it had learned — a worker's leak verdict, the OOM kill it recorded — from the
state file in --state-dir, with agents reconnecting by themselves, no kill
counted twice, and at most about one interval lost. Then SIGTERM: the state is
flushed and ramflowd exits within 2 s.

Real processes: a leaking worker with the ramflow agent (tests/e2e/leaky_worker.py),
a prefork-style worker OOM-killed by the kernel in a real v1 memory cgroup
(tests/e2e/oom_worker.py), ramflowd serve on 127.0.0.1. Needs root and cgroup v1
memory; skips with the reason otherwise (CI runs as root). Budget: ~40 s.
"""
from __future__ import annotations

import json
import os
import re
import signal
import stat
import time
import urllib.request
from pathlib import Path

import pytest

from prom_servers import MemoryCgroup, Servers, free_port, ramflowd_binary, scrape_metrics, wait_until

REPO = Path(__file__).resolve().parents[2]
AGENT_DIR = REPO / "agent" / "sitecustomize"
HERE = Path(__file__).parent
TASK = "tasks.eat_memory"
INTERVAL_S = 0.5
STATE_WRITE_CPU_SHARE = 0.001  # src/daemon/state_store.h


def sample(port: int, name: str) -> list[tuple[dict, float]]:
    return [(labels, value) for n, labels, value in scrape_metrics(port) if n == name]


def leak_level(port: int, pid: int) -> str | None:
    workers = [labels["worker"] for labels, _ in sample(port, "ramflow_process_info") if labels["pid"] == str(pid)]
    for labels, value in sample(port, "ramflow_leak_level"):
        if workers and labels["worker"] == workers[0] and value == 1:
            return labels["level"]
    return None


def oom_kills(port: int) -> list[tuple[dict, float]]:
    return [(l, v) for l, v in sample(port, "ramflow_oom_kills_total") if v > 0]


@pytest.fixture
def setup(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("needs root to create a v1 memory cgroup")
    if not Path("/sys/fs/cgroup/memory/memory.limit_in_bytes").exists():
        pytest.skip("needs the cgroup v1 memory controller at /sys/fs/cgroup/memory")
    servers = Servers(tmp_path)
    cgroup = MemoryCgroup(f"ramflow-restart-e2e-{os.getpid()}", 96 << 20)
    yield tmp_path, servers, cgroup
    servers.stop()
    cgroup.close()


def test_sigkill_restart_restores_leak_verdict_and_oom_history(setup):
    tmp, servers, cgroup = setup
    state_dir, socket_path, port = tmp / "state", tmp / "ramflow.sock", free_port()
    daemon = [str(ramflowd_binary()), "serve", "--listen", f"127.0.0.1:{port}", "--socket", str(socket_path),
              "--interval", f"{int(INTERVAL_S * 1000)}ms", "--ebpf", "off", "--state-dir", str(state_dir),
              "--log-level", "debug"]
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": str(tmp), "PYTHONPATH": str(AGENT_DIR),
           "RAMFLOW_SOCKET": str(socket_path), "OOM_E2E_PIDFILE": str(tmp / "victim.pid"),
           "OOM_E2E_GO": str(tmp / "go")}
    servers.start("ramflowd-1", daemon)
    leaky = servers.start("leaky", ["/usr/bin/python3", str(HERE / "leaky_worker.py")], env=env)
    servers.start("victim", cgroup.run_inside(["/usr/bin/python3", str(HERE / "oom_worker.py"), TASK]), env=env)
    victim = int(wait_until(lambda: (tmp / "victim.pid").exists() and (tmp / "victim.pid").read_text(), 30,
                            "the OOM victim to start"))

    # Learn: the leak ranked high, and one OOM kill recorded with its task.
    wait_until(lambda: leak_level(port, leaky.pid) == "high", 60, "the leaky worker's leak level to reach high")
    wait_until(lambda: any(l.get("pid") == str(victim) for l, _ in sample(port, "ramflow_process_info")), 30,
               "ramflowd to watch the victim")
    (tmp / "go").write_text("go")
    wait_until(lambda: oom_kills(port), 60, "ramflow_oom_kills_total to count the kill")
    time.sleep(3 * INTERVAL_S)

    # SIGKILL: nothing is flushed, the file is what the last interval wrote.
    state_file = state_dir / "ramflow-state.json"
    servers.started["ramflowd-1"].send_signal(signal.SIGKILL)
    killed_at = time.time()
    servers.started["ramflowd-1"].wait(timeout=5)
    saved = json.loads(state_file.read_text())
    # The documented rule: the next write comes in the first interval after
    # the last one's CPU cost / kStateWriteCpuShare (one interval for a small
    # state; its cost is in ramflowd's debug log).
    costs = re.findall(r"state file: \d+ bytes, ([0-9.]+) ms of CPU", (tmp / "ramflowd-1.log").read_text())
    allowed = 2 * INTERVAL_S + float(costs[-1]) / 1e3 / STATE_WRITE_CPU_SHARE + 0.5
    assert killed_at - saved["written_at"] <= allowed, \
        f"the state file was {killed_at - saved['written_at']:.2f} s old at the kill (allowed {allowed:.2f} s)"
    assert stat.S_IMODE(state_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(state_dir.stat().st_mode) == 0o700
    assert any(p["pid"] == leaky.pid and p["leak"]["level"] == "high" for p in saved["analysis"]["processes"])
    assert [r["task"] for r in saved["oom"]["history"]] == [TASK]

    # Restart: the first sample already carries what was learned.
    servers.start("ramflowd-2", daemon)
    wait_until(lambda: urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2).status == 200, 20,
               "the restarted ramflowd to take its first sample")
    assert leak_level(port, leaky.pid) == "high", "the leak verdict must survive the restart"
    kills = oom_kills(port)
    assert len(kills) == 1 and kills[0][0]["task"] == TASK and kills[0][1] == 1, kills
    log = (tmp / "ramflowd-2.log").read_text()
    assert "restored the state" in log, log

    # Agents reconnect by themselves; the residual series goes on (a broken x
    # axis would reset it); the kill is not inferred a second time.
    def task_ends() -> float:
        return sum(v for l, v in sample(port, "ramflow_agent_events_total") if l.get("type") == "call")
    first = wait_until(task_ends, 20, "the leaky worker's agent to reconnect and send task ends")
    wait_until(lambda: task_ends() >= first + 40, 30, "40 more tasks after the reconnect")
    assert leak_level(port, leaky.pid) == "high"
    assert "analysis of pid" not in (tmp / "ramflowd-2.log").read_text(), "the analysis restarted a series"
    kills = oom_kills(port)
    assert len(kills) == 1 and kills[0][1] == 1, f"the kill was counted again after the restart: {kills}"
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/report", timeout=5) as response:
        assert str(victim) in response.read().decode(), "the report lists the remembered kill"

    # SIGTERM: exits within 2 s and leaves the state it had.
    before = state_file.stat().st_mtime
    process = servers.started["ramflowd-2"]
    started = time.monotonic()
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=10)
    assert time.monotonic() - started < 2.0 and process.returncode == 0
    assert state_file.stat().st_mtime >= before
    assert not (state_dir / ".ramflow-state.json.tmp").exists()
    assert json.loads(state_file.read_text())["oom"]["history"][0]["task"] == TASK


def test_a_read_only_state_directory_is_logged_and_serving_goes_on(setup):
    tmp, servers, _ = setup
    state_dir, port = tmp / "ro-state", free_port()
    state_dir.mkdir()
    if os.system(f"mount -t tmpfs -o ro,size=1m tmpfs {state_dir}") != 0:
        pytest.skip("cannot mount a read-only tmpfs here")
    try:
        servers.start("ramflowd", [str(ramflowd_binary()), "serve", "--listen", f"127.0.0.1:{port}",
                                   "--socket", str(tmp / "s.sock"), "--interval", "200ms", "--ebpf", "off",
                                   "--state-dir", str(state_dir)])
        errors = wait_until(lambda: sum(v for _, v in sample(port, "ramflow_state_write_errors_total")), 20,
                            "ramflow_state_write_errors_total to count the failed write")
        wait_until(lambda: sum(v for _, v in sample(port, "ramflow_state_write_errors_total")) > errors, 20,
                   "later cycles to retry")
        assert sample(port, "ramflow_process_rss_bytes"), "serving goes on"
        log = (tmp / "ramflowd.log").read_text()
        assert log.count("Read-only file system") == 1, log  # logged once, counted every time
        assert "mount a writable volume" in log
    finally:
        servers.stop()
        os.system(f"umount {state_dir}")
