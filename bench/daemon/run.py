#!/usr/bin/python3
"""ramflowd vs Debian's prometheus-process-exporter, side by side in one run.

For each process count N: starts N real /usr/bin/python3 workers (each holds
--worker-mib of touched memory and sleeps; argv carries `ramflow-bench-worker I`
so every tool matches only them), then, at the same time, ramflowd,
process-exporter with and without -gather-smaps, and node-exporter limited to the
collectors that overlap ramflowd's host-level data. Every tool is scraped once
per interval over a kept-alive connection. Over a measured window it records:
CPU (utime+stime deltas from /proc/PID/stat, % of one core and ms per sample),
RSS (VmRSS: mean and max of once-per-interval readings), scrape latency
(client-side, request to last body byte; p50/p99/max) and the series count of the
last scrape. Prints one markdown table, the ratios ramflowd / process-exporter
and the issue-2 targets. Stops everything it started.

Usage: /usr/bin/python3 bench/daemon/run.py [--processes 8,32,128] [--duration 60]
       [--ramflowd build/release-bench/src/ramflowd] [--json results.json]
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

REPO = Path(__file__).resolve().parents[2]
MARKER = "ramflow-bench-worker"
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")

# Holds `mib` MiB of touched memory, then sleeps until killed.
WORKER_CODE = """\
import sys, time
held = bytearray(int(sys.argv[3]) << 20)
for i in range(0, len(held), 4096):
    held[i] = 1
while True:
    time.sleep(3600)
"""

TARGET_CPU_PERCENT = 0.5
TARGET_RSS_MIB = 20
TARGET_P99_MS = 5


@dataclass
class Tool:
    name: str
    argv: list[str]
    port: int
    ready: Callable[[str, int], bool]  # (metrics text, n) -> it sees all n workers
    proc: subprocess.Popen | None = None
    conn: http.client.HTTPConnection | None = None
    latencies_ms: list[float] = field(default_factory=list)
    rss_kib: list[int] = field(default_factory=list)
    scrape_errors: int = 0
    last_body: str = ""
    cpu_ticks_start: tuple[int, int] = (0, 0)
    cpu_ticks_end: tuple[int, int] = (0, 0)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_ticks(pid: int) -> tuple[int, int]:
    """(utime, stime) of every thread of pid, in clock ticks."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]), int(fields[12])


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError(f"pid {pid} has no VmRSS (exited?)")


def series(text: str) -> list[str]:
    return [line for line in text.splitlines() if line and not line.startswith("#")]


def count_prefix(text: str, prefix: str) -> int:
    return sum(1 for line in series(text) if line.startswith(prefix))


def pe_procs(text: str) -> int:
    return int(sum(float(line.rsplit(" ", 1)[1]) for line in series(text)
                   if line.startswith("namedprocess_namegroup_num_procs{")))


def scrape(tool: Tool) -> tuple[str, float]:
    """One GET /metrics over the kept-alive connection; records its latency."""
    for attempt in (0, 1):
        if tool.conn is None:
            tool.conn = http.client.HTTPConnection("127.0.0.1", tool.port, timeout=10)
        try:
            t0 = time.perf_counter()
            tool.conn.request("GET", "/metrics")
            resp = tool.conn.getresponse()
            body = resp.read()
            elapsed = (time.perf_counter() - t0) * 1000
        except (OSError, http.client.HTTPException):
            tool.conn.close()
            tool.conn = None
            if attempt:
                raise
            continue
        if resp.status != 200:
            raise RuntimeError(f"{tool.name}: GET /metrics answered {resp.status}")
        tool.last_body = body.decode()
        return tool.last_body, elapsed
    raise AssertionError("unreachable")


def start_workers(n: int, mib: int) -> list[subprocess.Popen]:
    workers = [subprocess.Popen(["/usr/bin/python3", "-c", WORKER_CODE, MARKER, str(i), str(mib)],
                                stdin=subprocess.DEVNULL)
               for i in range(n)]
    # Ready when each holds its memory: RSS above the asked MiB.
    deadline = time.monotonic() + 60
    for w in workers:
        while rss_kib(w.pid) < mib * 1024:
            if w.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"worker {w.pid} did not come up (exit {w.poll()})")
            time.sleep(0.05)
    return workers


def make_tools(n: int, tmp: Path, ramflowd: str, interval: float) -> list[Tool]:
    pe_config = tmp / "process-exporter.yml"
    # One group per worker, so its series are per process like ramflowd's; comm
    # first, as process-exporter's README advises, so the regexp runs only on python3.
    pe_config.write_text(
        "process_names:\n"
        "  - name: \"worker-{{.Matches.worker}}\"\n"
        "    comm: [python3]\n"
        f"    cmdline: ['{MARKER} (?P<worker>\\d+)']\n")
    tools = []
    port = free_port()
    tools.append(Tool("ramflowd", [
        ramflowd, "serve", "--listen", f"127.0.0.1:{port}", "--socket", str(tmp / "s.sock"),
        "--interval", f"{int(interval * 1000)}ms", "--process-match", MARKER,
        "--max-processes", str(n), "--ebpf", "off"], port,
        lambda text, n: count_prefix(text, "ramflow_process_rss_bytes{") == n))
    for smaps in ("true", "false"):
        port = free_port()
        tools.append(Tool(f"process-exporter smaps={smaps}", [
            "/usr/bin/prometheus-process-exporter", "-web.listen-address", f"127.0.0.1:{port}",
            "-config.path", str(pe_config), f"-gather-smaps={smaps}"], port,
            lambda text, n: pe_procs(text) == n))
    port = free_port()
    tools.append(Tool("node-exporter (meminfo,pressure,vmstat)", [
        "/usr/bin/prometheus-node-exporter", f"--web.listen-address=127.0.0.1:{port}",
        "--collector.disable-defaults", "--collector.meminfo", "--collector.pressure",
        "--collector.vmstat"], port, lambda text, n: True))
    return tools


def stop(procs: list[subprocess.Popen]) -> None:
    for p in procs:
        if p.poll() is None:
            p.terminate()
    for p in procs:
        try:
            p.wait(timeout=5)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def loadavg() -> str:
    return Path("/proc/loadavg").read_text().split()[0]


def run_one(n: int, args: argparse.Namespace) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix="rfbench-"))
    workers: list[subprocess.Popen] = []
    tools: list[Tool] = []
    try:
        workers = start_workers(n, args.worker_mib)
        tools = make_tools(n, tmp, args.ramflowd, args.interval)
        for t in tools:
            t.proc = subprocess.Popen(t.argv, stdin=subprocess.DEVNULL,
                                      stdout=open(tmp / f"{t.port}.log", "w"), stderr=subprocess.STDOUT)
        # Scrape until each tool sees all n workers, then a warm-up, then measure.
        deadline = time.monotonic() + 30
        pending = list(tools)
        while pending:
            for t in list(pending):
                if t.proc.poll() is not None:
                    raise RuntimeError(f"{t.name} exited {t.proc.returncode}: "
                                       f"{(tmp / f'{t.port}.log').read_text()[-2000:]}")
                try:
                    text, _ = scrape(t)
                except (OSError, http.client.HTTPException, RuntimeError):  # not up yet
                    continue
                if t.ready(text, n):
                    pending.remove(t)
            if time.monotonic() > deadline:
                raise RuntimeError("never saw all workers: " + ", ".join(t.name for t in pending))
            time.sleep(0.2)
        load_start = loadavg()
        tick = time.monotonic()
        warmup_end = tick + args.warmup
        measuring = False
        while True:
            now = time.monotonic()
            if not measuring and now >= warmup_end:
                measuring, window_start = True, now
                for t in tools:
                    t.cpu_ticks_start = cpu_ticks(t.proc.pid)
            if measuring and now - window_start >= args.duration:
                for t in tools:
                    t.cpu_ticks_end = cpu_ticks(t.proc.pid)
                window = now - window_start
                break
            for t in tools:
                try:
                    _, ms = scrape(t)
                    if measuring:
                        t.latencies_ms.append(ms)
                except (OSError, http.client.HTTPException, RuntimeError):
                    t.scrape_errors += 1
                if measuring:
                    t.rss_kib.append(rss_kib(t.proc.pid))
            tick += args.interval
            time.sleep(max(0.0, tick - time.monotonic()))
        samples = window / args.interval
        rows = []
        for t in tools:
            user_s, sys_s = ((end - start) / CLK_TCK for start, end in zip(t.cpu_ticks_start, t.cpu_ticks_end))
            cpu_s = user_s + sys_s
            rows.append({
                "tool": t.name, "processes": n,
                "cpu_percent": 100 * cpu_s / window,
                "cpu_sys_share": 100 * sys_s / cpu_s if cpu_s else 0.0,
                "cpu_ms_per_sample": 1000 * cpu_s / samples,
                "rss_mib_mean": statistics.mean(t.rss_kib) / 1024,
                "rss_mib_max": max(t.rss_kib) / 1024,
                "scrape_p50_ms": percentile(t.latencies_ms, 0.50),
                "scrape_p99_ms": percentile(t.latencies_ms, 0.99),
                "scrape_max_ms": max(t.latencies_ms),
                "scrapes": len(t.latencies_ms), "scrape_errors": t.scrape_errors,
                "series": len(series(t.last_body)), "body_kib": len(t.last_body.encode()) / 1024,
            })
        return {"processes": n, "window_s": window, "load_start": load_start,
                "load_end": loadavg(), "rows": rows}
    finally:
        for t in tools:
            if t.conn:
                t.conn.close()
        stop([t.proc for t in tools if t.proc] + workers)
        for f in tmp.iterdir():
            f.unlink()
        tmp.rmdir()


def markdown(results: list[dict]) -> str:
    out = ["| processes | tool | CPU % of one core | of which kernel % | CPU ms / sample | RSS MiB mean | RSS MiB max "
           "| scrape p50 ms | scrape p99 ms | scrape max ms | series | body KiB | load 1 min (start→end) |",
           "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for res in results:
        for r in res["rows"]:
            out.append(
                f"| {r['processes']} | {r['tool']} | {r['cpu_percent']:.2f} | {r['cpu_sys_share']:.0f} "
                f"| {r['cpu_ms_per_sample']:.2f} "
                f"| {r['rss_mib_mean']:.1f} | {r['rss_mib_max']:.1f} | {r['scrape_p50_ms']:.2f} "
                f"| {r['scrape_p99_ms']:.2f} | {r['scrape_max_ms']:.2f} | {r['series']} "
                f"| {r['body_kib']:.1f} | {res['load_start']}→{res['load_end']} |")
    out.append("")
    out.append("| processes | ratio ramflowd / process-exporter | CPU (smaps on) | CPU (smaps off) "
               "| RSS max (smaps on) | RSS max (smaps off) |")
    out.append("|---:|---|---:|---:|---:|---:|")
    for res in results:
        by = {r["tool"]: r for r in res["rows"]}
        rf, on, off = by["ramflowd"], by["process-exporter smaps=true"], by["process-exporter smaps=false"]
        ratio = lambda a, b: f"{a / b:.2f}" if b else "n/a"
        out.append(f"| {res['processes']} | | {ratio(rf['cpu_percent'], on['cpu_percent'])} "
                   f"| {ratio(rf['cpu_percent'], off['cpu_percent'])} "
                   f"| {ratio(rf['rss_mib_max'], on['rss_mib_max'])} "
                   f"| {ratio(rf['rss_mib_max'], off['rss_mib_max'])} |")
    for res in results:
        if res["processes"] != 32:
            continue
        rf = next(r for r in res["rows"] if r["tool"] == "ramflowd")
        verdict = lambda ok: "met" if ok else "MISSED"
        out.append("")
        out.append(f"Issue-2 targets at 32 processes: CPU {rf['cpu_percent']:.2f} % ≤ {TARGET_CPU_PERCENT} % "
                   f"{verdict(rf['cpu_percent'] <= TARGET_CPU_PERCENT)}; RSS max {rf['rss_mib_max']:.1f} MiB "
                   f"< {TARGET_RSS_MIB} MiB {verdict(rf['rss_mib_max'] < TARGET_RSS_MIB)}; scrape p99 "
                   f"{rf['scrape_p99_ms']:.2f} ms < {TARGET_P99_MS} ms {verdict(rf['scrape_p99_ms'] < TARGET_P99_MS)}")
    return "\n".join(out)


def machine() -> str:
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), "unknown CPU")
    return (f"{time.strftime('%Y-%m-%d %H:%M %Z')}; {os.cpu_count()} CPUs ({model}); "
            f"kernel {platform.release()}")


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--processes", default="8,32,128",
                   help="comma-separated worker counts, one run each (default 8,32,128)")
    p.add_argument("--duration", type=float, default=60, help="measured seconds per run (default 60)")
    p.add_argument("--warmup", type=float, default=5,
                   help="seconds scraped but not measured once every tool sees all workers (default 5)")
    p.add_argument("--interval", type=float, default=1.0,
                   help="ramflowd's sampling interval and the scrape period, seconds (default 1)")
    p.add_argument("--worker-mib", type=int, default=8, help="MiB each worker holds (default 8)")
    p.add_argument("--ramflowd", default=str(REPO / "build/release-bench/src/ramflowd"),
                   help="ramflowd binary (default build/release-bench/src/ramflowd)")
    p.add_argument("--json", help="also write the raw results to this file")
    args = p.parse_args()
    try:
        args.process_counts = [int(x) for x in args.processes.split(",")]
    except ValueError:
        p.error(f"--processes takes whole numbers separated by commas, got {args.processes!r}")
    if any(n < 1 for n in args.process_counts) or args.duration <= 0 or args.interval <= 0 \
            or args.warmup < 0 or args.worker_mib < 1:
        p.error("--processes, --duration, --interval and --worker-mib take numbers above 0")
    for binary in (args.ramflowd, "/usr/bin/prometheus-process-exporter", "/usr/bin/prometheus-node-exporter"):
        if not os.access(binary, os.X_OK):
            p.error(f"{binary} is not an executable: build ramflowd (cmake --build build/release-bench "
                    "--target ramflowd) or run scripts/install-deps.sh")
    return args


def main() -> int:
    args = parse_args()
    # SIGTERM unwinds through run_one's finally, which stops every child.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    results = []
    for n in args.process_counts:
        print(f"running {n} workers for {args.duration:g} s ...", file=sys.stderr, flush=True)
        results.append(run_one(n, args))
    if args.json:
        Path(args.json).write_text(json.dumps({"machine": machine(), "results": results}, indent=1))
    print(f"Machine: {machine()}\n")
    print(markdown(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
