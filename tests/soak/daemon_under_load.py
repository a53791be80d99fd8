"""The real ramflowd started for a load test on 127.0.0.1 (free port, socket in
the test's directory, eBPF off), with what the load tests watch while it runs:
its RSS (VmRSS of its pid, once a second) and how long /metrics takes to answer
(several scrapes a second, each a fresh connection, as Prometheus does).
"""
from __future__ import annotations

import http.client
import math
import os
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "e2e"))
from prom_servers import Servers, free_port, ramflowd_binary, scrape_metrics, wait_until  # noqa: E402

INTERVAL_S = 0.5
MIB = 1 << 20
FIGURES: list[str] = []  # printed by conftest.py at the end of the run, whatever pytest's verbosity


def report(line: str) -> None:
    print(line)
    FIGURES.append(line)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p * len(ordered)) - 1)]


class Ramflowd:
    def __init__(self, directory: Path, *options: str, env: dict | None = None):
        self.directory = directory
        self.socket = str(directory / "ramflow.sock")
        self.port = free_port()
        self.servers = Servers(directory)
        argv = [str(ramflowd_binary()), "serve", "--listen", f"127.0.0.1:{self.port}", "--socket", self.socket,
                "--interval", f"{int(INTERVAL_S * 1000)}ms", "--ebpf", "off", *options]
        self.process = self.servers.start("ramflowd", argv, env={**os.environ, **(env or {})})
        try:
            wait_until(lambda: os.path.exists(self.socket) and self.metrics(), 15, "ramflowd to serve /metrics")
        except BaseException:
            self.stop()
            raise

    @property
    def pid(self) -> int:
        return self.process.pid

    def metrics(self) -> list[tuple[str, dict, float]]:
        self.servers.check_running("ramflowd")
        return scrape_metrics(self.port)

    def rss_bytes(self) -> int:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise AssertionError(f"no VmRSS for ramflowd pid {self.pid}")

    def check_running(self) -> None:
        self.servers.check_running("ramflowd")

    def stop(self) -> None:
        self.servers.stop()

    def __enter__(self) -> "Ramflowd":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def totals(samples: list[tuple[str, dict, float]], name: str, by: str | None = None) -> dict:
    """Sum of the samples of one metric, per value of label `by` (or under None)."""
    out: dict = defaultdict(float)
    for metric, labels, value in samples:
        if metric == name:
            out[labels.get(by) if by else None] += value
    return dict(out)


class Watch:
    """Background sampling of ramflowd while a load runs: RSS each second, /metrics timed every `scrape_every` s."""

    def __init__(self, daemon: Ramflowd, scrape_every: float = 0.2):
        self.daemon = daemon
        self.scrape_every = scrape_every
        self.rss: list[tuple[float, int]] = []  # (monotonic, bytes)
        self.scrape_seconds: list[float] = []
        self.scrape_failures: list[str] = []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._sample_rss, daemon=True),
                         threading.Thread(target=self._scrape, daemon=True)]

    def __enter__(self) -> "Watch":
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=10)

    def _sample_rss(self) -> None:
        while not self._stop.is_set():
            try:
                self.rss.append((time.monotonic(), self.daemon.rss_bytes()))
            except (OSError, AssertionError):
                return  # ramflowd gone: the test's own check reports it
            self._stop.wait(1.0)

    def _scrape(self) -> None:
        while not self._stop.is_set():
            start = time.perf_counter()
            try:
                connection = http.client.HTTPConnection("127.0.0.1", self.daemon.port, timeout=5)
                connection.request("GET", "/metrics")
                response = connection.getresponse()
                body = response.read()
                connection.close()
                if response.status != 200 or not body:
                    self.scrape_failures.append(f"status {response.status}, {len(body)} bytes")
                else:
                    self.scrape_seconds.append(time.perf_counter() - start)
            except OSError as error:
                self.scrape_failures.append(repr(error))
            self._stop.wait(self.scrape_every)

    def rss_at(self, moment: float) -> int:
        """RSS of the first sample at or after `moment` (monotonic)."""
        return next(b for t, b in self.rss if t >= moment)

    def scrape_summary(self) -> str:
        s = self.scrape_seconds
        return (f"/metrics: {len(s)} scrapes, p50 {percentile(s, 0.5) * 1e3:.1f} ms, "
                f"p99 {percentile(s, 0.99) * 1e3:.1f} ms, max {max(s) * 1e3:.1f} ms, {len(self.scrape_failures)} failed")
