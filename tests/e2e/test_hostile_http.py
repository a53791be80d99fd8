"""The HTTP port under attack (issue 15): what one unauthenticated client on the
node can do to ramflowd's /metrics, as real sockets against the real binary on
127.0.0.1. Each test is an attack that took the sidecar down or blinded its
scraper before the bounded server (src/export/http/); the figures it prints
(run with -rP) are the ones in docs/reliability.md.

Budget: ~60 s. RSS peaks are read from /proc/PID/status after resetting VmHWM
(needs write access to /proc/PID/clear_refs: root, or the same user)."""
from __future__ import annotations

import os
import resource
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from hostile_clients import ConnectionPool, Scraper, closed_by_peer, connect, open_fds, reset_peak, status_kib
from prom_servers import REPO, free_port, ramflowd_binary, wait_until

FIXTURE = REPO / "tests" / "fixtures" / "e2e"
MAX_CONNECTIONS = 64          # src/export/http/http_server.h HttpLimits defaults
REQUEST_TIMEOUT_S = 5
IDLE_TIMEOUT_S = 2


class Ramflowd:
    def __init__(self, tmp: Path, *args: str):
        self.port = free_port()
        self.socket = tmp / "ramflow.sock"
        self.log = tmp / "ramflowd.log"
        argv = [str(ramflowd_binary()), "serve", "--listen", f"127.0.0.1:{self.port}", "--socket", str(self.socket),
                "--ebpf", "off", "--interval", "250ms", "--proc-root", str(FIXTURE / "proc"),
                "--cgroup-root", str(FIXTURE / "sys" / "fs" / "cgroup"), *args]
        self.process = subprocess.Popen(argv, stdout=open(self.log, "wb"), stderr=subprocess.STDOUT,
                                        start_new_session=True)
        wait_until(lambda: self.get("/readyz") == 200, 15, "ramflowd /readyz")

    @property
    def pid(self) -> int:
        return self.process.pid

    def get(self, path: str) -> int:
        s = connect(self.port, timeout=2)
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        head = s.recv(64)
        s.close()
        return int(head.split()[1]) if head.startswith(b"HTTP/1.1 ") else 0

    def running(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> float:
        """SIGTERM; the seconds until it exited."""
        started = time.monotonic()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return time.monotonic() - started


@pytest.fixture
def daemon(tmp_path):
    d = Ramflowd(tmp_path)
    yield d
    d.stop()


@pytest.fixture(autouse=True)
def enough_descriptors():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 8192), hard))
    yield
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def figure(text: str) -> None:
    print(f"FIGURE {text}")


class HeaderLineEvery:
    """Slowloris: a request line, then one header line every `seconds`, never the end of the head."""

    def __init__(self, seconds: float, byte_at_a_time: bool = False):
        self.seconds, self.byte_at_a_time = seconds, byte_at_a_time
        self.sent: dict[int, int] = {}

    def __call__(self, s, age: float) -> None:
        key = id(s)
        due = int(age / self.seconds) + 1
        if self.sent.get(key, 0) >= due:
            return
        first = key not in self.sent
        self.sent[key] = due
        if self.byte_at_a_time:
            s.send(b"G" if first else b"E")
        else:
            s.send(b"GET /metrics HTTP/1.1\r\n" if first else b"X-Slow: 1\r\n")


def test_a_stream_of_header_lines_is_cut_off_without_growing_memory(daemon):
    """Issue 15 #1: 200 MiB of ~100-byte header lines took ramflowd from 24 to 548 MiB."""
    reset_peak(daemon.pid)
    before = status_kib(daemon.pid, "VmRSS")
    s = connect(daemon.port, timeout=5)
    s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
    chunk = (b"X-Padding: " + b"a" * 87 + b"\r\n") * 1000  # 100 KB of 100-byte lines
    sent, cut_off = 0, False
    try:
        while sent < 200 << 20:
            s.sendall(chunk)
            sent += len(chunk)
    except OSError:
        cut_off = True
    answer = b""
    try:
        answer = s.recv(200)
    except OSError:
        pass
    s.close()
    peak = status_kib(daemon.pid, "VmHWM")
    figure(f"header flood: cut off after {sent / 1024:.0f} KiB sent; RSS {before / 1024:.1f} MiB, peak "
           f"{peak / 1024:.1f} MiB (+{(peak - before) / 1024:.2f})")
    assert cut_off, "the server kept reading header lines"
    assert sent < 16 << 20, f"{sent} bytes were taken before the cut"
    assert answer == b"" or answer.startswith(b"HTTP/1.1 431"), answer
    assert peak - before < 2048, f"RSS grew {peak - before} KiB"
    assert daemon.get("/healthz") == 200


def test_scrapes_are_answered_while_slow_and_idle_clients_hold_every_connection(daemon):
    """Issue 15 #2: 8 clients each sending a header line every 3 s blocked every scrape; 500 idle
    connections blocked scrapes for 30 s; one byte every 4.5 s held a worker thread for 54 s."""
    reset_peak(daemon.pid)
    before = status_kib(daemon.pid, "VmRSS")
    slow = HeaderLineEvery(1.0)
    with ConnectionPool(daemon.port, 8, HeaderLineEvery(3.0)), \
            ConnectionPool(daemon.port, 200, slow, tick=0.2) as slowloris, \
            ConnectionPool(daemon.port, 500, None, tick=0.2) as idle, \
            Scraper(daemon.port, every=0.2, timeout=5) as scraper:
        time.sleep(15)
    peak = status_kib(daemon.pid, "VmHWM")
    figure(f"slowloris (208 slow + 500 idle connections, reopened when closed) for 15 s: "
           f"{len(scraper.latencies)} scrapes, {len(scraper.failures)} failed, p50 {scraper.p(0.5) * 1e3:.1f} ms, "
           f"p99 {scraper.p(0.99) * 1e3:.1f} ms, max {scraper.p(1.0) * 1e3:.1f} ms; "
           f"{slowloris.replaced + idle.replaced} attacker connections closed by the server; "
           f"RSS {before / 1024:.1f} MiB, peak {peak / 1024:.1f} MiB")
    assert not scraper.failures, scraper.failures[:5]
    assert len(scraper.latencies) >= 50
    assert scraper.p(0.99) < 1.0, f"scrape p99 {scraper.p(0.99):.3f} s"
    assert peak - before < 4096, f"RSS grew {peak - before} KiB"
    assert "HTTP port under pressure" in daemon.log.read_text(), "the attack is logged"


def test_a_client_sending_one_byte_every_few_seconds_is_dropped_at_the_deadlines(daemon):
    trickle = connect(daemon.port, timeout=10)
    started = time.monotonic()
    trickle.send(b"G")
    time.sleep(1.5)
    trickle.send(b"E")  # never idle for the idle deadline: only the whole-request deadline ends it
    closed_at = None
    while time.monotonic() - started < 15:
        if closed_by_peer(trickle):
            closed_at = time.monotonic() - started
            break
        trickle.setblocking(True)
        try:
            if int(time.monotonic() - started) % 2 == 0:
                trickle.send(b"T")
        except OSError:
            closed_at = time.monotonic() - started
            break
        time.sleep(0.5)
    trickle.close()
    silent = connect(daemon.port, timeout=10)
    silent.send(b"GET / HTTP/1.1\r\n")
    silent_start = time.monotonic()
    answer = silent.recv(100)
    silent_closed = time.monotonic() - silent_start
    silent.close()
    figure(f"one byte at a time: dropped after {closed_at:.1f} s (request deadline {REQUEST_TIMEOUT_S} s); "
           f"silent after a partial head: 408 after {silent_closed:.1f} s (idle deadline {IDLE_TIMEOUT_S} s)")
    assert closed_at is not None and closed_at < REQUEST_TIMEOUT_S + 1.5, closed_at
    assert answer.startswith(b"HTTP/1.1 408"), answer
    assert silent_closed < IDLE_TIMEOUT_S + 1.5


def test_a_connection_flood_is_capped_and_scrapes_still_get_through(daemon):
    fds_before = open_fds(daemon.pid)
    reset_peak(daemon.pid)
    before = status_kib(daemon.pid, "VmRSS")
    held = []
    with Scraper(daemon.port, every=0.2, timeout=5) as scraper:
        for _ in range(3000):
            try:
                held.append(connect(daemon.port, timeout=2))
            except OSError:
                pass
        time.sleep(3)
        fds_during = open_fds(daemon.pid)
    for s in held:
        s.close()
    peak = status_kib(daemon.pid, "VmHWM")
    figure(f"3000 connections opened and held: server fds {fds_before} -> {fds_during}; {len(scraper.latencies)} "
           f"scrapes, {len(scraper.failures)} failed, p99 {scraper.p(0.99) * 1e3:.1f} ms; "
           f"RSS {before / 1024:.1f} MiB, peak {peak / 1024:.1f} MiB")
    assert fds_during <= fds_before + MAX_CONNECTIONS + 1
    assert not scraper.failures, scraper.failures[:5]
    assert peak - before < 4096


def test_clients_that_never_read_their_responses_cannot_pile_up_memory(daemon):
    reset_peak(daemon.pid)
    before = status_kib(daemon.pid, "VmRSS")
    readers = []
    with Scraper(daemon.port, every=0.2, timeout=5) as scraper:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            for path in ("/api/v1/report", "/metrics", "/app.js", "/"):
                try:
                    s = connect(daemon.port, timeout=2, rcvbuf=4096)
                    s.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
                    readers.append(s)
                except OSError:
                    pass
            if len(readers) > 400:
                for s in readers[:200]:
                    s.close()
                del readers[:200]
            time.sleep(0.02)
    for s in readers:
        s.close()
    peak = status_kib(daemon.pid, "VmHWM")
    figure(f"non-reading clients (10 s, ~2000 requests for the report, metrics and dashboard, never read): "
           f"RSS {before / 1024:.1f} MiB, peak {peak / 1024:.1f} MiB (+{(peak - before) / 1024:.1f}); "
           f"{len(scraper.latencies)} scrapes, {len(scraper.failures)} failed, p99 {scraper.p(0.99) * 1e3:.1f} ms")
    assert not scraper.failures, scraper.failures[:5]
    assert peak - before < 24 << 10, f"RSS grew {peak - before} KiB (response budget 16 MiB)"


def test_sigterm_ends_within_two_seconds_whatever_the_clients_do(tmp_path):
    """Issue 15 #3: 5.0 s with 20 idle connections, 39.2 s with one slow client."""
    daemon = Ramflowd(tmp_path, "--state-dir", str(tmp_path / "state"))
    try:
        idle = [connect(daemon.port) for _ in range(20)]
        slow = connect(daemon.port)
        slow.send(b"GET /metrics HTTP/1.1\r\n")
        unread = []
        for _ in range(32):
            s = connect(daemon.port, rcvbuf=4096)
            s.sendall(b"GET /api/v1/report HTTP/1.1\r\n\r\n")
            unread.append(s)
        time.sleep(0.5)
        took = daemon.stop()
        figure(f"SIGTERM with 20 idle, 1 slow and 32 non-reading clients: exited in {took * 1e3:.0f} ms, "
               f"code {daemon.process.returncode}")
        assert daemon.process.returncode == 0
        assert took < 2.0, f"took {took:.2f} s"
        assert (tmp_path / "state" / "ramflow-state.json").exists(), "the state is saved at SIGTERM"
        assert not daemon.socket.exists(), "the socket file is removed"
        for s in idle + [slow] + unread:
            s.close()
    finally:
        daemon.stop()


def test_a_port_in_use_is_an_error_naming_the_port(tmp_path):
    """Issue 15 #8: with SO_REUSEPORT a second server shared the port and answered 24 of 40 scrapes."""
    squatter = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    squatter.bind(("127.0.0.1", 0))
    squatter.listen(8)
    port = squatter.getsockname()[1]
    try:
        out = subprocess.run([str(ramflowd_binary()), "serve", "--listen", f"127.0.0.1:{port}",
                              "--socket", str(tmp_path / "ramflow.sock"), "--ebpf", "off",
                              "--proc-root", str(FIXTURE / "proc"),
                              "--cgroup-root", str(FIXTURE / "sys" / "fs" / "cgroup")],
                             capture_output=True, text=True, timeout=20)
    finally:
        squatter.close()
    assert out.returncode == 1, out.stdout + out.stderr
    message = out.stdout + out.stderr
    assert f"port {port} is already in use" in message and "--listen" in message, message
    assert not (tmp_path / "ramflow.sock").exists()


@pytest.mark.parametrize("sig", [signal.SIGHUP, signal.SIGUSR1, signal.SIGUSR2])
def test_hup_and_usr_signals_are_logged_and_ignored(tmp_path, sig):
    """Issue 15 #9: SIGHUP, SIGUSR1 and SIGUSR2 killed it (exit 129/138/140), leaving the socket file."""
    daemon = Ramflowd(tmp_path, "--state-dir", str(tmp_path / "state"))
    try:
        daemon.process.send_signal(sig)
        time.sleep(0.5)
        assert daemon.running(), f"exited with {daemon.process.returncode} on {sig.name}"
        assert daemon.get("/healthz") == 200
        wait_until(lambda: f"received {sig.name}" in daemon.log.read_text(), 5, f"a log line about {sig.name}")
        assert daemon.stop() < 2.0 and daemon.process.returncode == 0
        assert not daemon.socket.exists()
        assert (tmp_path / "state" / "ramflow-state.json").exists()
    finally:
        daemon.stop()
