"""Hostile HTTP clients against a server on 127.0.0.1 (tests/e2e/test_hostile_http.py),
and what the test measures meanwhile: the server's RSS and the latency of a
scraper. Each attack is a real socket doing what an attacker on the node would."""
from __future__ import annotations

import http.client
import socket
import threading
import time
from pathlib import Path


def status_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(f"no {field} in /proc/{pid}/status")


def reset_peak(pid: int) -> None:
    """VmHWM back to the current RSS (Linux's clear_refs 5), so the next peak is the attack's."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")


def open_fds(pid: int) -> int:
    return len(list(Path(f"/proc/{pid}/fd").iterdir()))


def connect(port: int, timeout: float = 5, rcvbuf: int | None = None) -> socket.socket:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.settimeout(timeout)
    s.connect(("127.0.0.1", port))
    return s


def closed_by_peer(s: socket.socket) -> bool:
    """True when the server has closed (EOF or reset); never blocks."""
    try:
        s.setblocking(False)
        data = s.recv(65536)
        while data:
            data = s.recv(65536)
        return True
    except BlockingIOError:
        return False
    except OSError:
        return True


class Scraper:
    """GETs a path on fresh connections at a fixed rate in a thread; keeps each latency or failure."""

    def __init__(self, port: int, path: str = "/metrics", every: float = 0.2, timeout: float = 5):
        self.port, self.path, self.every, self.timeout = port, path, every, timeout
        self.latencies: list[float] = []
        self.failures: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> "Scraper":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=self.timeout + 5)

    def _run(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
                conn.request("GET", self.path)
                response = conn.getresponse()
                body = response.read()
                conn.close()
                if response.status != 200 or not body:
                    self.failures.append(f"status {response.status}")
                else:
                    self.latencies.append(time.monotonic() - started)
            except OSError as error:
                self.failures.append(repr(error))
            self._stop.wait(max(0.0, self.every - (time.monotonic() - started)))

    def p(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("inf")


class ConnectionPool:
    """Keeps `count` connections open, each fed by `feed(sock, age_s)` every `tick` s; a connection
    the server closes is replaced at once. Counts how many the server closed."""

    def __init__(self, port: int, count: int, feed=None, tick: float = 0.5):
        self.port, self.count, self.feed, self.tick = port, count, feed, tick
        self.replaced = 0
        self.refused = 0
        self.lifetimes: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._socks: list[tuple[socket.socket, float]] = []

    def __enter__(self) -> "ConnectionPool":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=30)
        for s, _ in self._socks:
            s.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            now = time.monotonic()
            alive = []
            for s, opened in self._socks:
                if closed_by_peer(s):
                    self.replaced += 1
                    self.lifetimes.append(now - opened)
                    s.close()
                    continue
                if self.feed:
                    try:
                        self.feed(s, now - opened)
                    except OSError:
                        self.replaced += 1
                        self.lifetimes.append(now - opened)
                        s.close()
                        continue
                alive.append((s, opened))
            self._socks = alive
            while len(self._socks) < self.count and not self._stop.is_set():
                try:
                    s = connect(self.port, timeout=2)
                except OSError:
                    self.refused += 1
                    break
                self._socks.append((s, time.monotonic()))
            self._stop.wait(self.tick)
