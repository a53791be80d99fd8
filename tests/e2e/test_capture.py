"""Allocation-site captures end to end (issue 19, docs/allocation-sites.md):
the real ramflowd, real worker processes with the agent, `ramflowd capture`
on the control socket, the report.

* Known leaks (agent/tests/capture_leaks.py), each worker captured on demand:
  the leaking line heads the sites; a ctypes malloc leak is native; a clean
  worker names no site above 16 KiB.
* A leak that turns high is captured automatically, once within the hour;
  the report and `ramflowd report` carry it.
* ramflowd SIGKILLed mid-window and restarted with its state: the window's
  result still arrives and is shown.
* The pre-OOM capture runs before a real OOM kill in a v1 memory cgroup, and
  the kill's post-mortem names it (root and cgroup v1; skipped otherwise).
* A real Celery prefork child: its capture names the task's leaking line.

Budget: ~2 min (hard stop in tests/stages/58-capture-e2e.sh).
"""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from prom_servers import MemoryCgroup, Servers, free_port, get_json, ramflowd_binary, wait_until

REPO = Path(__file__).resolve().parents[2]
LEAKS_DIR = REPO / "agent" / "tests"
LEAKS = LEAKS_DIR / "capture_leaks.py"
AGENT = REPO / "agent"
HERE = Path(__file__).parent
TASKS_DIR = HERE / "celery_app"
KIB, MIB = 1 << 10, 1 << 20

sys.path.insert(0, str(LEAKS_DIR))
import capture_leaks  # noqa: E402  (its line_of only: no agent in the test process)


class Daemon:
    """ramflowd serve on 127.0.0.1, watching only this test's workers: those
    whose command line carries its tag (a worker of another test, still
    ending, would be another group of the report)."""

    def __init__(self, tmp: Path, servers: Servers, options: list[str], name: str = "ramflowd"):
        self.tmp, self.servers, self.options, self.name = tmp, servers, options, name
        self.tag = f"tag-{os.getpid()}-{tmp.name}"
        self.port = free_port()
        self.socket = tmp / "ramflow.sock"
        self.control = tmp / "control.sock"
        self.start()

    def start(self) -> None:
        self.process = self.servers.start(self.name, [
            str(ramflowd_binary()), "serve", "--listen", f"127.0.0.1:{self.port}", "--socket", str(self.socket),
            "--interval", "500ms", "--ebpf", "off", "--process-match", re.escape(self.tag),
            *self.options])
        wait_until(lambda: self.control.exists(), 20, "ramflowd's control socket")

    def report(self) -> dict | None:
        try:
            return get_json(f"http://127.0.0.1:{self.port}/api/v1/report")
        except Exception:
            return None

    def captures(self) -> list[dict]:
        report = self.report()
        return report["execution_flow"]["allocation_sites"] if report else []

    def capture(self, pid: int, *args: str) -> subprocess.Popen:
        """`ramflowd capture` of pid, asked again while ramflowd does not know the pid's agent yet."""
        deadline = time.monotonic() + 30
        while True:
            asked = subprocess.Popen([str(ramflowd_binary()), "capture", "--pid", str(pid), "--url",
                                      f"unix:{self.control}", "--output", "json", *args],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            try:
                asked.wait(timeout=2)
            except subprocess.TimeoutExpired:
                return asked  # accepted: its window runs
            err = asked.stderr.read()
            not_yet = any(s in err for s in ("not a worker", "no ramflow agent", "not connected"))
            if asked.returncode == 0 or not not_yet or time.monotonic() > deadline:
                asked.stderr = _Replay(err)
                return asked
            time.sleep(0.5)


class _Replay:
    """stderr already read, for communicate()."""

    def __init__(self, text: str):
        self.text = text

    def read(self) -> str:
        return self.text

    def close(self) -> None:
        pass


def result_of(capture: subprocess.Popen) -> dict:
    capture.wait(timeout=120)
    out, err = capture.stdout.read(), capture.stderr.read()
    assert out.strip(), f"ramflowd capture printed nothing (exit {capture.returncode}): {err}"
    return json.loads(out)


def leak_worker(daemon: Daemon, name: str, *args: str, argv_prefix: list[str] | None = None) -> subprocess.Popen:
    """capture_leaks.py NAME with the agent, until its stdin closes."""
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(AGENT), "RAMFLOW_SOCKET": str(daemon.socket)}
    worker = subprocess.Popen([*(argv_prefix or []), "/usr/bin/python3", str(LEAKS), name, "--tag", daemon.tag, *args],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True)
    assert worker.stdout.readline().strip() == "running", worker.stderr.read()
    return worker


def stop(worker: subprocess.Popen) -> None:
    if worker.poll() is None:
        worker.stdin.close()
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()


def site_of(capture: dict) -> tuple[str, int, str]:
    top = capture["sites"][0]
    return top["file"], top["line"], top["function"]


@pytest.fixture
def servers(tmp_path):
    s = Servers(tmp_path)
    yield s
    s.stop()


def test_ramflowd_capture_names_the_line_of_each_known_leak(tmp_path, servers):
    daemon = Daemon(tmp_path, servers, ["--capture-auto", "false"])
    names = ["dict_cache", "list_in_helper", "class_attribute", "two_calls_below", "json_cache", "ctypes_malloc", "clean"]
    workers = {name: leak_worker(daemon, name) for name in names}
    try:
        results = {name: daemon.capture(w.pid) for name, w in workers.items()}  # all at once, each its own window
        results = {name: result_of(c) for name, c in results.items()}
    finally:
        for w in workers.values():
            stop(w)
    for name in ["dict_cache", "list_in_helper", "class_attribute", "two_calls_below", "json_cache"]:
        r = results[name]
        assert r["status"] == "done", r
        assert site_of(r)[:2] == ("capture_leaks.py", capture_leaks.line_of("LEAK: " + name)), (name, r["sites"][:2])
        assert r["growth"]["verdict"] == "python", (name, r["growth"])
        assert r["window"]["ended_by"] == "tasks" and r["window"]["tasks"] == 20
    two = results["two_calls_below"]["sites"][0]["traceback"]
    assert [f["function"] for f in two[:3]] == ["_store", "_validate", "two_calls_below"]
    native = results["ctypes_malloc"]
    assert native["growth"]["verdict"] == "native" and native["growth"]["native_share"] >= 0.8, native["growth"]
    clean = results["clean"]
    assert clean["growth"]["verdict"] != "native", clean["growth"]
    assert all(s["bytes"] < 16 * KIB for s in clean["sites"]), clean["sites"][:3]


def test_a_high_leak_is_captured_once_within_the_hour_and_reported(tmp_path, servers):
    daemon = Daemon(tmp_path, servers, ["--capture-every", "1h"])
    worker = leak_worker(daemon, "dict_cache", "--ready", "--pause", "0.01")
    try:
        def captured():
            done = [c for c in daemon.captures() if c["reason"] == "leak_high" and c["status"] == "done"]
            return done[0] if done else None
        capture = wait_until(captured, 60, "an automatic capture of the high leak")
        assert capture["pid"] == worker.pid
        assert site_of(capture)[:2] == ("capture_leaks.py", capture_leaks.line_of("LEAK: dict_cache"))
        assert "per task" in capture["why"]
        # The leak stays high for many more cycles: no second capture within the hour.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            assert len([c for c in daemon.captures() if c["reason"] == "leak_high"]) == 1
            time.sleep(0.5)
        saved = subprocess.run([str(ramflowd_binary()), "report", "--url", f"http://127.0.0.1:{daemon.port}",
                                "--output", str(tmp_path / "report.json")], capture_output=True, text=True, timeout=30)
        assert saved.returncode == 0, saved.stderr
        assert "LEAK: dict_cache" in saved.stdout and "leak_high" in saved.stdout, saved.stdout
        written = json.loads((tmp_path / "report.json").read_text())
        assert written["execution_flow"]["allocation_sites"][0]["id"] == capture["id"]
    finally:
        stop(worker)


def test_a_sidecar_restart_mid_window_still_gets_the_result(tmp_path, servers):
    daemon = Daemon(tmp_path, servers, ["--capture-auto", "false", "--state-dir", str(tmp_path / "state")])
    worker = leak_worker(daemon, "list_in_helper", "--pause", "0.01")
    try:
        asked = daemon.capture(worker.pid, "--seconds", "6")
        wait_until(lambda: any(c["status"] == "running" for c in daemon.captures()), 20, "the window to open")
        time.sleep(1)  # one state write after the window opened
        daemon.process.send_signal(signal.SIGKILL)
        daemon.process.wait(timeout=10)
        asked.wait(timeout=30)  # its connection ended with the daemon
        daemon.start()  # the same socket and state directory

        def finished():
            found = [c for c in daemon.captures() if c["status"] == "done"]
            return found[0] if found else None
        capture = wait_until(finished, 40, "the window's result after the restart")
        assert capture["window"]["ended_by"] == "seconds"
        assert site_of(capture)[:2] == ("capture_leaks.py", capture_leaks.line_of("LEAK: list_in_helper"))
        assert capture["why"] == "asked with ramflowd capture", "the state file kept the request"
    finally:
        stop(worker)


def test_the_pre_oom_capture_runs_before_a_real_kill_and_its_post_mortem_names_it(tmp_path, servers):
    if os.geteuid() != 0:
        pytest.skip("needs root to create a v1 memory cgroup")
    if not Path("/sys/fs/cgroup/memory/memory.limit_in_bytes").exists():
        pytest.skip("needs the cgroup v1 memory controller at /sys/fs/cgroup/memory")
    cgroup = MemoryCgroup(f"ramflow-capture-e2e-{os.getpid()}", 160 << 20)
    try:
        # A 30 % OOM-risk margin: the capture starts ~10 s before the kill at 4 MiB/s.
        daemon = Daemon(tmp_path, servers, ["--bucket", "1s", "--oom-risk-margin", "0.3"])
        env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": f"{AGENT}:{LEAKS_DIR}", "RAMFLOW_SOCKET": str(daemon.socket)}
        main = servers.start("oom-worker", cgroup.run_inside(["/usr/bin/python3", str(HERE / "capture_oom_worker.py"),
                                                              daemon.tag]), env=env)
        wait_until(lambda: cgroup.oom_kills() >= 1, 120, "the OOM kill")
        assert main.poll() is None, "the main stays: the cgroup is still watched"

        def post_mortem():
            report = daemon.report()
            if not report:
                return None
            kills = [k for k in report["system_context"]["oom_kills"]["recent"] if k.get("allocation_capture")]
            return (report, kills[0]) if kills else None
        report, kill = wait_until(post_mortem, 30, "the kill's post-mortem naming a capture")
        captures = {c["id"]: c for c in report["execution_flow"]["allocation_sites"]}
        capture = captures[kill["allocation_capture"]]
        assert capture["reason"] == "oom_near", capture
        assert capture["status"] == "done", capture
        assert capture["window"]["ended"] < kill["time"] + 1, "the result arrived before the kill"
        assert capture["oom_killed_at"] == kill["time"]
        assert site_of(capture)[:2] == ("capture_leaks.py", capture_leaks.line_of("LEAK: grow"))
    finally:
        servers.stop()
        cgroup.close()


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_a_celery_prefork_childs_capture_names_the_tasks_leaking_line(tmp_path, servers):
    redis_port = free_port()
    servers.start("redis", ["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "",
                            "--appendonly", "no", "--dir", str(tmp_path)])
    broker = f"redis://127.0.0.1:{redis_port}/0"
    daemon = Daemon(tmp_path, servers, ["--capture-auto", "false"])
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "PYTHONPATH": f"{AGENT / 'sitecustomize'}:{TASKS_DIR}",
           "RAMFLOW_SOCKET": str(daemon.socket), "CELERY_BROKER_URL": broker, "CELERY_RESULT_BACKEND": broker}
    main = servers.start("worker", ["/usr/bin/python3", "-m", "celery", "-A", "tasks", "worker", "--pool=prefork",
                                    "--concurrency=2", "--loglevel=INFO", "-n", f"{daemon.tag}@%h", "--without-gossip",
                                    "--without-mingle", "--without-heartbeat"], env=env, cwd=tmp_path)
    wait_until(lambda: "ready" in servers.log_tail("worker", 200), 60, "the prefork worker to be ready")
    children = [int(p) for p in Path(f"/proc/{main.pid}/task/{main.pid}/children").read_text().split()]
    assert len(children) == 2, children
    child = children[0]

    from celery import Celery
    client = Celery("e2e-client", broker=broker, backend=broker)  # no agent in this process
    stop_sending = threading.Event()

    def send():
        n = 0
        while not stop_sending.is_set():
            client.send_task("tasks.cache_search", args=[f"query {n}"])
            n += 1
            time.sleep(0.01)
    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    try:
        result = result_of(daemon.capture(child, "--tasks", "20"))
    finally:
        stop_sending.set()
        sender.join(timeout=10)
        client.close()
    assert result["status"] == "done", result
    assert result["window"]["tasks"] == 20
    file, line, function = site_of(result)
    tasks_lines = (TASKS_DIR / "tasks.py").read_text().splitlines()
    assert (file, function) == ("tasks.py", "cache_search"), result["sites"][:2]
    assert tasks_lines[line - 1].rstrip().endswith("# LEAK: cache_search"), tasks_lines[line - 1]
