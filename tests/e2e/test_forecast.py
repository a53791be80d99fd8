"""Time to OOM end to end (DESIGN.md "time to OOM", issue 13).

1. A real Python worker with the ramflow agent leaks touched anonymous memory
   at a known rate (4 MiB/s, kept in a list, inside `ramflow.task("leak")`) in a
   real v1 memory cgroup limited to 300 MiB. ramflowd runs with its shipped
   defaults (1 s interval, 60 s buckets: the forecast keeps its own scales).
   ramflow_time_to_oom_seconds{cgroup=...} must be on /metrics 30 s after the
   leak started. When the cgroup's non-reclaimable memory (memory.stat
   total_rss + total_shmem + total_unevictable) reaches half the limit, the test
   reads the forecast, then measures when the kernel really kills the worker
   (SIGKILL, memory.oom_control oom_kill rises). The prediction must be within
   ±25 % of that real time.
2. A worker that only fills page cache (reads a 512 MiB file several times in
   the same 192 MiB cgroup) drives usage past 90 % of the limit yet must leave
   ramflow_nonreclaimable_margin_ratio above 0.5 and raise no OOM-risk verdict.
   The report has no OOM-risk field (analysis::oom_risk is computed but not
   exported), so "no verdict" is asserted as: ramflow_time_to_oom_seconds
   absent at every sample and executive.time_to_oom.seconds null in
   /api/v1/report, no OOM kill.

Needs root, cgroup v1 memory and ramflowd (build/default/src/ramflowd, or env
RAMFLOWD). Skips with the reason where those are missing; CI=true turns every
skip into a failure. Every process, cgroup and file it creates is removed on
every exit path. Budget: about 70 s (hard stop in the stage: 300 s).
"""
from __future__ import annotations

import os
import re
import signal
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from prom_servers import MemoryCgroup, Servers, free_port, get_json, wait_until

REPO = Path(__file__).resolve().parents[2]
AGENT_PATH = f"{REPO / 'agent' / 'sitecustomize'}:{REPO / 'agent'}"
LIMIT = 192 << 20             # the page-cache case
LEAK_LIMIT = 300 << 20        # the leak: about 70 s from start to the kill
LEAK_CHUNK = 1 << 20          # one touched MiB ...
LEAK_PERIOD_S = 0.25          # ... every 250 ms: 4 MiB/s
TOLERANCE = 0.25
FIRST_FORECAST_S = 30
CACHE_FILE_BYTES = 512 << 20  # 2.7 x the limit: every pass evicts the previous one
CACHE_READ_S = 12             # > 5 buckets + margin: long enough for a forecast to appear if it would

LEAK_WORKER = """
import os, sys, time
import ramflow
chunk, period, go = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
ramflow.mark_ready()
while not os.path.exists(go):
    time.sleep(0.02)
held = []
with ramflow.task("leak"):
    start = time.monotonic()
    while True:  # on an absolute schedule: the rate does not drift with allocation time
        held.append(b"\\x01" * chunk)  # touched pages: real anonymous RSS
        time.sleep(max(0.0, start + len(held) * period - time.monotonic()))
"""

CACHE_WORKER = """
import os, sys, time
import ramflow
path, seconds, go = sys.argv[1], float(sys.argv[2]), sys.argv[3]
ramflow.mark_ready()
while not os.path.exists(go):
    time.sleep(0.02)
buffer = bytearray(1 << 20)  # reused: the reads add page cache, not anonymous memory
passes, end = 0, time.monotonic() + seconds
with ramflow.task("read"):
    while passes < 2 or time.monotonic() < end:
        with open(path, "rb", buffering=0) as f:
            while f.readinto(buffer):
                time.sleep(0.002)  # about 400 MiB/s at most: one core is shared by the team
        passes += 1
print(f"passes {passes}", flush=True)
"""


def _need(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true but: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture
def ramflowd() -> Path:
    if os.geteuid() != 0:
        _need("needs root to create a v1 memory cgroup")
    if not Path("/sys/fs/cgroup/memory/memory.limit_in_bytes").exists():
        _need("needs the cgroup v1 memory controller at /sys/fs/cgroup/memory")
    binary = Path(os.environ.get("RAMFLOWD", REPO / "build" / "default" / "src" / "ramflowd"))
    if not binary.exists():
        _need(f"{binary} is not built yet (cmake --preset default && cmake --build --preset default)")
    return binary


class Live:
    """ramflowd (250 ms interval, 1 s buckets) + one worker in a fresh limited cgroup; close() removes all."""

    def __init__(self, tmp: Path, ramflowd: Path, kind: str, limit: int, options: list[str]):
        self.tmp = tmp
        self.limit = limit
        self.servers = Servers(tmp)
        self.cgroup = MemoryCgroup(f"ramflow_forecast_{os.getpid()}_{kind}", limit)
        try:
            self.port = free_port()
            self.socket = tmp / "ramflow.sock"
            self.go = tmp / "go"
            self.servers.start("ramflowd", [str(ramflowd), "serve", "--listen", f"127.0.0.1:{self.port}",
                                            "--socket", str(self.socket), *options,
                                            "--ebpf", "off", "--cgroup-root", "/sys/fs/cgroup"])
        except BaseException:
            self.close()
            raise

    def start_worker(self, script: str, *args: str):
        env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": str(self.tmp), "PYTHONPATH": AGENT_PATH,
               "RAMFLOW_SOCKET": str(self.socket), "PYTHONDONTWRITEBYTECODE": "1"}
        self.worker = self.servers.start("worker", self.cgroup.run_inside(["/usr/bin/python3", "-c", script, *args]), env=env)
        # The daemon watches the cgroup (its limit is exported) before the worker starts its work.
        self.label = wait_until(self._label, 30, f"ramflowd to export the cgroup {self.cgroup.path.name}")
        self.go.write_text("go")

    def _label(self) -> str | None:
        self.servers.check_running("ramflowd")
        self.servers.check_running("worker")
        for labels, value in self.sample("ramflow_memory_limit_bytes"):
            if labels.get("cgroup", "").endswith("/" + self.cgroup.path.name) and value == self.limit:
                return labels["cgroup"]
        return None

    def sample(self, name: str) -> list[tuple[dict, float]]:
        """Every series of one metric on /metrics as (labels, value)."""
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/metrics", timeout=5) as response:
            text = response.read().decode()
        found = []
        for line in text.splitlines():
            match = re.fullmatch(rf'{name}(?:\{{(.*)\}})? (\S+)', line)
            if match:
                labels = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', match.group(1) or ""))
                found.append((labels, float(match.group(2))))
        return found

    def of_cgroup(self, name: str) -> float | None:
        values = [value for labels, value in self.sample(name) if labels.get("cgroup") == self.label]
        return values[0] if values else None

    def report(self) -> dict:
        return get_json(f"http://127.0.0.1:{self.port}/api/v1/report", {"cgroup": self.label})

    def close(self) -> None:
        try:
            self.servers.stop()
        finally:
            self.cgroup.close()


@pytest.fixture
def live(tmp_path, ramflowd):
    runs = []

    def make(kind: str, limit: int, options: list[str]) -> Live:
        runs.append(Live(tmp_path, ramflowd, kind, limit, options))
        return runs[-1]

    yield make
    for run in runs:
        run.close()


def test_time_to_oom_is_there_within_30_s_and_right_within_25_percent_at_half_way(live):
    run = live("leak", LEAK_LIMIT, [])  # the shipped defaults
    run.start_worker(LEAK_WORKER, str(LEAK_CHUNK), str(LEAK_PERIOD_S), str(run.go))
    leak_start = time.monotonic()
    oom_before = run.cgroup.oom_kills()
    first_seen = None
    while time.monotonic() - leak_start < FIRST_FORECAST_S and run.worker.poll() is None:
        if first_seen is None and run.of_cgroup("ramflow_time_to_oom_seconds") is not None:
            first_seen = time.monotonic() - leak_start
        time.sleep(0.25)
    at_30_s = run.of_cgroup("ramflow_time_to_oom_seconds")
    assert first_seen is not None and at_30_s is not None, (
        f"no time to OOM {FIRST_FORECAST_S} s after a 4 MiB/s leak started (first seen {first_seen}); "
        f"ramflowd log:\n{run.servers.log_tail('ramflowd')}")
    wait_until(lambda: run.worker.poll() is not None or run.cgroup.nonreclaimable_bytes() >= LEAK_LIMIT / 2, 90,
               "non-reclaimable memory to reach half the limit", every=0.02)
    assert run.worker.poll() is None, "the worker died before half-way"
    half_way = time.monotonic()
    nonreclaimable = run.cgroup.nonreclaimable_bytes()
    predicted = run.of_cgroup("ramflow_time_to_oom_seconds")
    growth = (run.report()["executive"]["time_to_oom"] or {}).get("growth_bytes_per_second")
    assert predicted is not None, (
        f"ramflow_time_to_oom_seconds absent at half-way ({nonreclaimable >> 20} MiB of {LEAK_LIMIT >> 20} MiB, "
        f"{half_way:.1f}); ramflowd log:\n{run.servers.log_tail('ramflowd')}")

    wait_until(lambda: run.worker.poll() is not None, 120, "the kernel to OOM-kill the leaking worker", every=0.02)
    real = time.monotonic() - half_way
    assert run.worker.returncode == -signal.SIGKILL, f"worker exited with {run.worker.returncode}, not SIGKILL"
    assert run.cgroup.oom_kills() > oom_before, "memory.oom_control oom_kill did not rise: not an OOM kill"
    print(f"\ntime to OOM first seen {first_seen:.1f} s after the leak started; "
          f"at half-way ({nonreclaimable / 2**20:.1f} MiB): predicted {predicted:.2f} s, "
          f"real {real:.2f} s, error {100 * (predicted - real) / real:+.1f} %, "
          f"growth {growth and growth / 2**20:.3f} MiB/s (leak {LEAK_CHUNK / LEAK_PERIOD_S / 2**20:.3f} MiB/s)")
    assert abs(predicted - real) <= TOLERANCE * real, (
        f"predicted {predicted:.2f} s vs real {real:.2f} s: outside ±{TOLERANCE:.0%} "
        f"(growth {growth} B/s, leak {LEAK_CHUNK / LEAK_PERIOD_S:.0f} B/s)")


@pytest.fixture
def cold_file():
    """A 512 MiB file of non-zero bytes on disk, not in the page cache (so the reader's cgroup is charged)."""
    directory = Path("/var/tmp")
    path = directory / f"ramflow_forecast_{os.getpid()}.bin"
    try:
        block = b"\x5a" * (1 << 20)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            for _ in range(CACHE_FILE_BYTES // len(block)):
                os.write(fd, block)
            os.fsync(fd)
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)  # the writer's cache, charged elsewhere
        finally:
            os.close(fd)
        yield path
    finally:
        path.unlink(missing_ok=True)


def test_page_cache_leaves_the_nonreclaimable_margin_high_and_no_oom_risk(live, cold_file):
    run = live("cache", LIMIT, ["--interval", "250ms"])
    oom_before = run.cgroup.oom_kills()
    run.start_worker(CACHE_WORKER, str(cold_file), str(CACHE_READ_S), str(run.go))
    highest_usage, lowest_margin, samples, forecasts, verdicts = 0.0, 1.0, 0, [], set()
    time_to_oom = None
    while run.worker.poll() is None:
        highest_usage = max(highest_usage, run.cgroup.usage_bytes() / LIMIT)
        margin = run.of_cgroup("ramflow_nonreclaimable_margin_ratio")
        if margin is not None:
            samples += 1
            lowest_margin = min(lowest_margin, margin)
        forecast = run.of_cgroup("ramflow_time_to_oom_seconds")
        if forecast is not None:
            forecasts.append(forecast)
        try:
            report = run.report()
        except urllib.error.HTTPError as error:
            if error.code == 503 and run.worker.poll() is not None:
                break  # the reader just ended: its cgroup has no process left to report on
            raise
        # Shown, not asserted: a margin verdict over the lower of the two ratios, not an OOM-risk verdict.
        verdicts.add(report["executive"]["kpis"]["safety_margin"]["verdict"])
        time_to_oom = report["executive"]["time_to_oom"]  # the last one while the reader lived
        time.sleep(0.25)
    run.worker.wait(timeout=10)
    print(f"\npage cache: usage up to {highest_usage:.1%} of the limit, non-reclaimable margin at least "
          f"{lowest_margin:.3f} over {samples} samples, time-to-OOM forecasts {forecasts}, "
          f"safety_margin verdicts seen {sorted(verdicts)}")
    assert run.worker.returncode == 0, f"reader exited with {run.worker.returncode}:\n{run.servers.log_tail('worker')}"
    assert run.cgroup.oom_kills() == oom_before, "the page cache reader was OOM-killed"
    assert samples >= CACHE_READ_S * 2, f"only {samples} samples of the margin while reading"
    assert highest_usage > 0.9, f"usage only reached {highest_usage:.1%} of the limit: the cache did not fill it"
    assert lowest_margin > 0.5, f"page cache lowered the non-reclaimable margin to {lowest_margin:.3f}"
    assert not forecasts, f"page cache raised a time-to-OOM forecast: {forecasts}"
    assert time_to_oom is not None, "no report was taken while the reader ran"
    assert time_to_oom["seconds"] is None, f"the report projects an OOM from page cache: {time_to_oom}"
