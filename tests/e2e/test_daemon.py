"""ramflowd as a user meets it: CLI, configuration precedence and errors, the
HTTP surface, bad kernel files, and shutdown. Real binary, real processes,
servers on 127.0.0.1 only."""
from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from prom_servers import REPO, free_port, get_json, ramflowd_binary, scrape_metrics, wait_until

FIXTURE = REPO / "tests" / "fixtures" / "e2e"


def run_cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([str(ramflowd_binary()), *args], capture_output=True, text=True, timeout=30,
                          env={**os.environ, **(env or {})})


class Daemon:
    """ramflowd serve on a fixture tree (or the live machine), stopped by the test."""

    def __init__(self, tmp: Path, *args: str, env: dict | None = None, proc_root: Path | None = FIXTURE / "proc",
                 cgroup_root: Path | None = FIXTURE / "sys" / "fs" / "cgroup"):
        self.port = free_port()
        argv = [str(ramflowd_binary()), "serve", "--listen", f"127.0.0.1:{self.port}",
                "--socket", str(tmp / "ramflow.sock"), "--ebpf", "off", *args]
        if proc_root:
            argv += ["--proc-root", str(proc_root)]
        if cgroup_root:
            argv += ["--cgroup-root", str(cgroup_root)]
        self.log = tmp / "ramflowd.log"
        self.process = subprocess.Popen(argv, stdout=open(self.log, "wb"), stderr=subprocess.STDOUT,
                                        env={**os.environ, **(env or {})}, start_new_session=True)
        wait_until(lambda: urllib.request.urlopen(f"{self.url}/readyz", timeout=2).status == 200, 10,
                   "ramflowd /readyz")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture
def tmp():
    path = Path(tempfile.mkdtemp(prefix="ramflow-daemon-test-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def configuration(daemon: Daemon) -> dict[str, dict]:
    report = get_json(f"{daemon.url}/api/v1/report")
    return {row["key"]: row for row in report["system_context"]["configuration"]}


def test_help_lists_every_option_with_its_environment_name():
    out = run_cli("--help")
    assert out.returncode == 0
    for option in ("listen", "interval", "process-match", "socket", "max-processes", "log-format", "log-level",
                   "smaps-interval", "cgroup-root", "proc-root", "ebpf", "leak-medium", "leak-high"):
        assert f"--{option}" in out.stdout, option
        assert "RAMFLOW_" + option.upper().replace("-", "_") in out.stdout, option
    assert "ramflowd run" in out.stdout and "recommend" in out.stdout


def test_version():
    out = run_cli("--version")
    assert out.returncode == 0 and out.stdout.startswith("ramflowd ")


@pytest.mark.parametrize("args, env, says", [
    (["--interval", "fast"], {}, ['"fast"', "--interval", "a duration like"]),
    (["--max-processes", "0"], {}, ["--max-processes", "from 1 to 4096"]),
    (["--listen", "nowhere"], {}, ["--listen", "HOST:PORT"]),
    (["--process-match", "python("], {}, ["--process-match", "regular expression"]),
    ([], {"RAMFLOW_LOG_FORMAT": "xml"}, ["RAMFLOW_LOG_FORMAT", "text, json"]),
    ([], {"RAMFLOW_LEAK_MEDIUM": "50", "RAMFLOW_LEAK_HIGH": "20"}, ["leak-medium", "leak-high"]),
    (["--bogus", "1"], {}, ["unknown option --bogus"]),
])
def test_bad_configuration_exits_2_naming_option_value_and_what_is_allowed(args, env, says):
    out = run_cli("serve", *args, env=env)
    assert out.returncode == 2, out.stderr
    for text in says:
        assert text in out.stderr, (text, out.stderr)
    assert "Traceback" not in out.stderr and "terminate" not in out.stderr


def test_bad_config_file_exits_2(tmp):
    (tmp / "unknown.yaml").write_text("intervall: 1s\n")
    (tmp / "types.yaml").write_text("interval: [1, 2]\n")
    (tmp / "broken.yaml").write_text("interval: [\n")
    (tmp / "twice.yaml").write_text("interval: 2s\nlisten: 127.0.0.1:9977\ninterval: 3s\n")
    for name, says in (("unknown.yaml", "intervall"), ("types.yaml", "single value"), ("broken.yaml", "not valid YAML"),
                       ("twice.yaml", "appears twice")):
        out = run_cli("serve", "--config", str(tmp / name))
        assert out.returncode == 2, out.stderr
        assert says in out.stderr and name in out.stderr, out.stderr
    out = run_cli("serve", "--config", str(tmp / "missing.yaml"))
    assert out.returncode == 2 and "cannot read config file" in out.stderr


def test_flags_win_over_environment_over_file_over_defaults(tmp):
    (tmp / "ramflow.yaml").write_text("interval: 2s\nmax-processes: 20\nsmaps-interval: 45s\n")
    env = {"RAMFLOW_INTERVAL": "3s", "RAMFLOW_MAX_PROCESSES": "30"}
    daemon = Daemon(tmp, "--config", str(tmp / "ramflow.yaml"), "--interval", "4s", env=env)
    try:
        config = configuration(daemon)
        assert (config["interval"]["value"], config["interval"]["source"]) == ("4s", "flag")
        assert (config["max-processes"]["value"], config["max-processes"]["source"]) == ("30", "env")
        assert (config["smaps-interval"]["value"], config["smaps-interval"]["source"]) == ("45s", "file")
        assert (config["top-functions"]["value"], config["top-functions"]["source"]) == ("50", "default")
    finally:
        daemon.stop()


def test_http_is_read_only_and_refuses_oversized_requests(tmp):
    daemon = Daemon(tmp)
    try:
        for path in ("/metrics", "/api/v1/report", "/"):
            request = urllib.request.Request(daemon.url + path, data=b"x", method="POST")
            with pytest.raises(urllib.error.HTTPError) as error:
                urllib.request.urlopen(request, timeout=5)
            assert error.value.code == 405
        huge = urllib.request.Request(daemon.url + "/metrics", headers={"X-Padding": "a" * 20000})
        with pytest.raises((urllib.error.HTTPError, urllib.error.URLError, ConnectionError)):
            urllib.request.urlopen(huge, timeout=5)
        assert urllib.request.urlopen(daemon.url + "/healthz", timeout=5).status == 200
        # http.client asks for keep-alive; the server answers one request per
        # connection (a kept-alive idle connection costs a core's 0.9 %: docs/performance.md).
        conn = http.client.HTTPConnection("127.0.0.1", daemon.port, timeout=5)
        conn.request("GET", "/metrics")
        response = conn.getresponse()
        assert response.status == 200 and response.getheader("Connection") == "close"
        response.read()
        conn.close()
        badge = urllib.request.urlopen(daemon.url + "/badge.svg", timeout=5)
        assert badge.headers["Content-Type"].startswith("image/svg+xml")
        assert b"<svg" in badge.read()
        page = urllib.request.urlopen(daemon.url + "/", timeout=5).read().decode()
        assert "<html" in page.lower() and "http://" not in page and "https://" not in page
    finally:
        daemon.stop()


def test_sigterm_stops_within_two_seconds(tmp):
    daemon = Daemon(tmp, proc_root=None, cgroup_root=None)
    started = time.monotonic()
    daemon.process.send_signal(signal.SIGTERM)
    daemon.process.wait(timeout=10)
    elapsed = time.monotonic() - started
    assert daemon.process.returncode == 0
    assert elapsed < 2.0, f"took {elapsed:.2f}s"
    assert not (tmp / "ramflow.sock").exists(), "the socket file is removed on exit"


def test_a_malformed_proc_file_is_counted_logged_once_and_serving_goes_on(tmp):
    tree = tmp / "tree"
    shutil.copytree(FIXTURE, tree, symlinks=True)
    status = tree / "proc" / "12663" / "status"
    status.write_text(status.read_text().replace("VmRSS:", "VmRSS: 12x4", 1))
    daemon = Daemon(tmp, "--interval", "200ms", proc_root=tree / "proc", cgroup_root=tree / "sys" / "fs" / "cgroup")
    try:
        def errors() -> float:
            return sum(v for n, l, v in scrape_metrics(daemon.port)
                       if n == "ramflow_probe_errors_total" and l["source"] == "status")
        first = wait_until(errors, 10, "a counted status error")
        wait_until(lambda: errors() >= first + 3, 10, "the error counted again on later cycles")
        pids = {l["pid"] for n, l, v in scrape_metrics(daemon.port) if n == "ramflow_process_info"}
        assert "12662" in pids and "12664" in pids, "the other processes are still measured"
        log = daemon.log.read_text()
        assert log.count("/proc/PID/status") + log.count("12663/status") == 1, log
    finally:
        daemon.stop()


def test_report_and_recommend_read_a_running_sidecar(tmp):
    daemon = Daemon(tmp)
    try:
        out = run_cli("report", "--url", daemon.url, "--output", str(tmp / "post-mortem.json"))
        assert out.returncode == 0, out.stderr
        report = json.loads((tmp / "post-mortem.json").read_text())
        assert report["source"] == "report" and report["schema_version"] == 1
        out = run_cli("report", "--url", daemon.url, "--output", str(tmp / "post-mortem.html"))
        assert out.returncode == 0, out.stderr
        html = (tmp / "post-mortem.html").read_text()
        assert 'id="ramflow-report"' in html and "https://" not in html and "http://" not in html
        out = run_cli("recommend", "--url", daemon.url)
        assert out.returncode == 0, out.stderr
        assert "recommended limit" in out.stdout and "resources:" in out.stdout and "worker:\n  resources:" in out.stdout
        out = run_cli("recommend", "--url", daemon.url, "--output", "json")
        readout = json.loads(out.stdout)
        assert readout["limit"]["quantity"].endswith("Mi") and readout["limit"]["bytes"] > 0
    finally:
        daemon.stop()
    out = run_cli("recommend", "--url", f"http://127.0.0.1:{free_port()}")
    assert out.returncode == 1 and "cannot reach" in out.stderr
    out = run_cli("report", "--url", "nonsense", "--output", str(tmp / "x.json"))
    assert out.returncode == 2 and "is not a URL" in out.stderr
