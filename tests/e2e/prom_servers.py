"""Helpers of the Prometheus/Alertmanager end-to-end test: servers on 127.0.0.1
started and stopped by the test, a webhook receiver, a fleet-store gateway, a real
v1 memory cgroup.
"""
from __future__ import annotations

import base64
import json
import os
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable, TypeVar

T = TypeVar("T")
CGROUP_V1_MEMORY = Path("/sys/fs/cgroup/memory")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until(check: Callable[[], T], timeout: float, what: str, every: float = 0.2) -> T:
    """The first truthy result of check(), or AssertionError naming what never happened."""
    deadline = time.monotonic() + timeout
    last_error = None
    while time.monotonic() < deadline:
        try:
            result = check()
            if result:
                return result
        except (OSError, ValueError) as error:  # server not up yet
            last_error = error
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}" + (f" (last error: {last_error})" if last_error else ""))


def get_json(url: str, params: dict | None = None, timeout: float = 5, headers: dict | None = None) -> dict:
    if params:
        url += "?" + urllib.parse.urlencode(params)
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=timeout) as response:
        return json.loads(response.read())


def basic_auth(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def bcrypt_hash(password: str) -> str:
    """A bcrypt hash for Prometheus' --web.config.file, from glibc's crypt (cost 4: tests only)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # crypt leaves the stdlib in 3.13
        import crypt

        return crypt.crypt(password, crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=16))


class Servers:
    """Processes started by the test; stop() ends each one (and its children) by its own id."""

    def __init__(self, logs: Path):
        self.logs = logs
        self.started: dict[str, subprocess.Popen] = {}

    def start(self, name: str, argv: list[str], env: dict | None = None, cwd: Path | None = None) -> subprocess.Popen:
        log = open(self.logs / f"{name}.log", "wb")
        process = subprocess.Popen(
            argv, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=cwd, start_new_session=True
        )
        log.close()
        self.started[name] = process
        return process

    def log_tail(self, name: str, lines: int = 30) -> str:
        path = self.logs / f"{name}.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""

    def check_running(self, name: str) -> None:
        process = self.started[name]
        if process.poll() is not None:
            raise AssertionError(f"{name} exited with {process.returncode}:\n{self.log_tail(name)}")

    def stop_one(self, name: str) -> None:
        self._end([self.started[name]])

    def stop(self) -> None:
        self._end(list(reversed(self.started.values())))

    @staticmethod
    def _end(processes: list[subprocess.Popen]) -> None:
        for process in processes:
            if process.poll() is None:
                try:
                    os.killpg(process.pid, signal.SIGTERM)  # its own session: only what it started
                except ProcessLookupError:
                    pass
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=5)


class Webhook:
    """Alertmanager webhook receiver on 127.0.0.1: keeps every alert it is sent, with the time."""

    def __init__(self):
        self.received: list[dict] = []
        self._lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's name)
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                now = time.monotonic()
                with outer._lock:
                    for alert in body.get("alerts", []):
                        outer.received.append({"at": now, "status": alert["status"], "labels": alert["labels"],
                                               "annotations": alert.get("annotations", {})})
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def alerts(self, alertname: str, status: str = "firing") -> list[dict]:
        with self._lock:
            return [a for a in self.received if a["labels"].get("alertname") == alertname and a["status"] == status]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class Gateway:
    """A fleet store's front door on 127.0.0.1, as Mimir's gateway or an auth proxy is:
    answers 401 without `Authorization: Bearer <token>` or without `X-Scope-OrgID`
    ("no org id", as Mimir says), keeps the headers of every request, and forwards
    the others to a real Prometheus with that Prometheus' own credentials."""

    def __init__(self, upstream: str, token: str, upstream_headers: dict[str, str]):
        self.requests: list[dict[str, str]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's name)
                outer.requests.append(dict(self.headers.items()))
                if self.headers.get("Authorization") != f"Bearer {token}":
                    return self._answer(401, b"unauthorized\n")
                if not self.headers.get("X-Scope-OrgID"):
                    return self._answer(401, b"no org id\n")
                request = urllib.request.Request(upstream + self.path, headers=upstream_headers)
                try:
                    with urllib.request.urlopen(request, timeout=10) as response:
                        self._answer(response.status, response.read())
                except urllib.error.HTTPError as error:
                    self._answer(error.code, error.read())

            def _answer(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class MemoryCgroup:
    """A real cgroup v1 memory cgroup with a limit, removed (after killing what is left in it) on close."""

    def __init__(self, name: str, limit_bytes: int):
        self.path = CGROUP_V1_MEMORY / name
        self.path.mkdir()
        (self.path / "memory.limit_in_bytes").write_text(str(limit_bytes))
        self.limit_bytes = int((self.path / "memory.limit_in_bytes").read_text())

    def run_inside(self, argv: list[str]) -> list[str]:
        """argv prefixed so the process moves itself into the cgroup before it execs."""
        return ["/bin/sh", "-c", f'echo $$ > {self.path}/cgroup.procs && exec "$@"', "sh", *argv]

    def stat(self) -> dict[str, int]:
        return {k: int(v) for k, v in (line.split() for line in (self.path / "memory.stat").read_text().splitlines())}

    def nonreclaimable_bytes(self) -> int:
        stat = self.stat()
        return stat["total_rss"] + stat.get("total_shmem", 0) + stat.get("total_unevictable", 0)

    def usage_bytes(self) -> int:
        return int((self.path / "memory.usage_in_bytes").read_text())

    def oom_kills(self) -> int:
        for line in (self.path / "memory.oom_control").read_text().splitlines():
            key, value = line.split()
            if key == "oom_kill":
                return int(value)
        raise AssertionError("memory.oom_control has no oom_kill line: kernel older than 4.13")

    def close(self) -> None:
        if not self.path.exists():
            return
        for pid in (self.path / "cgroup.procs").read_text().split():
            try:
                os.kill(int(pid), signal.SIGKILL)
            except ProcessLookupError:
                pass
        wait_until(lambda: not (self.path / "cgroup.procs").read_text().strip(), 10, f"{self.path} to empty")
        wait_until(lambda: self._rmdir(), 10, f"removal of {self.path}")

    def _rmdir(self) -> bool:
        try:
            self.path.rmdir()
            return True
        except OSError:
            return False


REPO = Path(__file__).resolve().parents[2]


def ramflowd_binary() -> Path:
    """The ramflowd under test (env RAMFLOWD, else build/default); skips, or fails in CI, when not built."""
    import pytest  # only the tests import this module

    binary = Path(os.environ.get("RAMFLOWD", REPO / "build" / "default" / "src" / "ramflowd"))
    if not binary.exists():
        message = f"{binary} is not built yet (cmake --preset default && cmake --build --preset default)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return binary


def scrape_metrics(port: int) -> list[tuple[str, dict, float]]:
    """(name, labels, value) of every sample on ramflowd's /metrics."""
    import re

    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text = response.read().decode()
    samples = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        match = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$', line)
        if not match:
            raise AssertionError(f"unparsable metrics line: {line!r}")
        labels = dict(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"', match.group(3) or ""))
        samples.append((match.group(1), labels, float(match.group(4))))
    return samples
