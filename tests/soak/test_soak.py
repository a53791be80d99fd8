"""Soak: the real ramflowd under a sustained agent load with every kind of bad
input mixed in, for RAMFLOW_SOAK_SECONDS (default 90; longer by hand).

Several client processes (tests/soak/soak_client.py), each with several
SOCK_SEQPACKET connections, send valid events at a paced high rate with
malformed packets, sequence gaps and regressions, claimed agent-side drops and
reconnects; some are SIGKILLed mid-stream by this test and replaced. Every
client keeps an exact ledger (tests/soak/ledger.py) of what it put on the
wire, so the daemon's counters must match it exactly:

    sent = accepted + rejected (per reason) + dropped in the agent + sequence gaps

The only freedom: a client killed between handing a packet to the kernel and
recording it leaves that one packet's delivery unknown; the check accepts the
totals when some subset of those in-flight packets explains them exactly.

Also: after a warm-up (the first 25 % of the run) ramflowd's RSS grows by less
than 2 MiB, and /metrics, scraped 5 times a second throughout, answers with
p99 < 20 ms.
"""
from __future__ import annotations

import itertools
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from daemon_under_load import MIB, Ramflowd, Watch, percentile, report, totals, wait_until
from ledger import KEYS, Ledger

HERE = Path(__file__).resolve().parent
SECONDS = float(os.environ.get("RAMFLOW_SOAK_SECONDS", "90"))
CLIENTS = 4
CONNECTIONS = 8
EVENTS_PER_SECOND = float(os.environ.get("RAMFLOW_SOAK_EVENTS_PER_SECOND", "40000"))  # per client process
CLIENT_NICE = 10  # the load generator yields to ramflowd: 4 Python senders on a 2-core box otherwise starve it
KILLS = max(2, int(SECONDS / 10))  # outside SIGKILLs over the run
WARMUP_FRACTION = 0.25
RSS_GROWTH_LIMIT = 2 * MIB
SCRAPE_P99_LIMIT_S = 0.020


class Fleet:
    """The client processes, each incarnation with its own ledger file."""

    def __init__(self, directory: Path, socket_path: str, deadline: float):
        self.directory = directory
        self.socket_path = socket_path
        self.deadline = deadline
        self.seeds = itertools.count(1)
        self.running: dict[int, tuple[subprocess.Popen, Path]] = {}  # slot -> client
        self.finished: list[tuple[Path, int]] = []  # (ledger, returncode)

    def start(self, slot: int) -> None:
        seed = next(self.seeds)
        ledger = self.directory / f"client-{seed}.ledger"
        argv = [sys.executable, str(HERE / "soak_client.py"), self.socket_path, str(ledger), "--seed", str(seed),
                "--seconds", f"{max(0.5, self.deadline - time.monotonic()):.2f}", "--connections", str(CONNECTIONS),
                "--events-per-second", str(EVENTS_PER_SECOND), "--nice", str(CLIENT_NICE)]
        log = open(self.directory / f"client-{seed}.log", "wb")
        self.running[slot] = (subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT), ledger)
        log.close()

    def reap(self) -> None:
        """Replaces killed clients while time is left; a client failing on its own fails the test."""
        for slot, (process, ledger) in list(self.running.items()):
            if process.poll() is None:
                continue
            del self.running[slot]
            self.finished.append((ledger, process.returncode))
            if process.returncode not in (0, -signal.SIGKILL):
                log = ledger.with_suffix(".log").read_text(errors="replace")[-3000:]
                raise AssertionError(f"soak client {ledger.stem} exited with {process.returncode}:\n{log}")
            if process.returncode == -signal.SIGKILL and self.deadline - time.monotonic() > 1:
                self.start(slot)

    def kill_one(self, rng: random.Random) -> None:
        live = [slot for slot, (p, _) in self.running.items() if p.poll() is None]
        if live:
            os.kill(self.running[rng.choice(live)][0].pid, signal.SIGKILL)

    def stop(self) -> None:
        for process, _ in self.running.values():
            if process.poll() is None:
                process.kill()
        for process, _ in self.running.values():
            process.wait(timeout=10)

    def accounts(self) -> tuple[list[int], list[list[int]], int]:
        """(committed totals over every incarnation, in-flight packets of killed ones, kills)."""
        committed = [0] * len(KEYS)
        in_flight = []
        kills = 0
        for path, returncode in self.finished:
            ledger = Ledger(path)
            done, pending = ledger.account()
            ledger.close()
            committed = [a + b for a, b in zip(committed, done)]
            if returncode == -signal.SIGKILL:
                kills += 1
                if pending is not None:
                    in_flight.append(pending)
            elif pending is not None:
                raise AssertionError(f"{path.name}: a client that exited normally left a packet pending")
        return committed, in_flight, kills


def daemon_counts(daemon: Ramflowd) -> list[int]:
    samples = daemon.metrics()
    accepted = totals(samples, "ramflow_agent_events_total", "type")
    rejected = totals(samples, "ramflow_agent_events_rejected_total", "reason")
    dropped = totals(samples, "ramflow_agent_events_dropped_total", "where")
    calls: dict[tuple[str, str], float] = {}
    for name, labels, value in samples:
        if name == "ramflow_function_calls_total":
            calls[(labels["function"], labels["kind"])] = value
    unexpected = set(calls) - {tuple(k.split(":")[1:]) for k in KEYS if k.startswith("calls:")}
    assert not unexpected, f"function series nobody sent: {sorted(unexpected)}"
    out = []
    for key in KEYS:
        kind, _, rest = key.partition(":")
        table = {"accepted": accepted, "rejected": rejected, "dropped": dropped}.get(kind)
        value = table.get(rest, 0) if table is not None else calls.get(tuple(rest.split(":")), 0)
        out.append(int(value))
    return out


def explained(server: list[int], committed: list[int], in_flight: list[list[int]]) -> tuple[int, ...] | None:
    """Indexes of the in-flight packets whose delivery makes the ledgers equal the daemon's counts, if any."""
    for size in range(len(in_flight) + 1):
        for subset in itertools.combinations(range(len(in_flight)), size):
            expected = list(committed)
            for i in subset:
                expected = [a + b for a, b in zip(expected, in_flight[i])]
            if expected == server:
                return subset
    return None


def test_soak_exact_accounting_bounded_rss_fast_scrapes(tmp_path):
    rng = random.Random(20261126)
    with Ramflowd(tmp_path, "--max-processes", "256") as daemon, Watch(daemon, scrape_every=0.2) as watch:
        start = time.monotonic()
        deadline = start + SECONDS
        fleet = Fleet(tmp_path, daemon.socket, deadline)
        kill_times = sorted(start + rng.uniform(0.1, 0.9) * SECONDS for _ in range(KILLS))
        try:
            for slot in range(CLIENTS):
                fleet.start(slot)
            while time.monotonic() < deadline + 5 and fleet.running:
                daemon.check_running()  # first: a dead daemon also makes the clients fail
                fleet.reap()
                if kill_times and time.monotonic() >= kill_times[0]:
                    kill_times.pop(0)
                    fleet.kill_one(rng)
                time.sleep(0.05)
            assert not fleet.running, "soak clients still running 5 s after the deadline"
        finally:
            fleet.stop()
        sent_seconds = time.monotonic() - start
        committed, in_flight, kills = fleet.accounts()
        server: list[int] = []

        def settled():
            nonlocal server
            server = daemon_counts(daemon)
            return explained(server, committed, in_flight) is not None

        try:
            wait_until(settled, 10, "the daemon's counters to match the clients' ledgers", every=INTERVAL_POLL)
        finally:
            delivered = explained(server, committed, in_flight) if server else None
            print_accounting(committed, in_flight, delivered, server)
        daemon.check_running()
    watch_summary(watch, start, sent_seconds, committed, kills, in_flight, delivered)
    assert not watch.scrape_failures, f"/metrics failed during the soak: {watch.scrape_failures[:5]}"
    assert percentile(watch.scrape_seconds, 0.99) < SCRAPE_P99_LIMIT_S, watch.scrape_summary()
    warm = watch.rss_at(start + WARMUP_FRACTION * SECONDS)
    end = [b for t, b in watch.rss if t <= start + sent_seconds][-1]
    assert end - warm < RSS_GROWTH_LIMIT, (
        f"ramflowd RSS grew {(end - warm) / MIB:.2f} MiB after the warm-up ({warm / MIB:.1f} -> {end / MIB:.1f} MiB)")


INTERVAL_POLL = 0.25


def print_accounting(committed, in_flight, delivered, server) -> None:
    extra = [0] * len(KEYS)
    for i in delivered or ():
        extra = [a + b for a, b in zip(extra, in_flight[i])]
    report(f"soak accounting ({len(in_flight)} packets in flight at a kill, "
           f"{'delivered: ' + str(len(delivered)) if delivered is not None else 'NO subset explains the counts'})")
    report(f"  {'counter':<34} {'ledgers':>12} {'+in flight':>10} {'ramflowd':>12}")
    for i, key in enumerate(KEYS):
        mark = "" if server and committed[i] + extra[i] == server[i] else "  <-- differs"
        report(f"  {key:<34} {committed[i]:>12} {extra[i]:>10} {server[i] if server else '-':>12}{mark}")


def watch_summary(watch, start, sent_seconds, committed, kills, in_flight, delivered) -> None:
    valid = sum(committed[KEYS.index(f"accepted:{t}")] for t in ("hello", "task_start", "call", "heartbeat"))
    rejected = sum(v for k, v in zip(KEYS, committed) if k.startswith("rejected:"))
    rss = [b for _, b in watch.rss]
    warm = watch.rss_at(start + WARMUP_FRACTION * SECONDS)
    end = [b for t, b in watch.rss if t <= start + sent_seconds][-1]
    report(f"soak: {sent_seconds:.0f} s, {CLIENTS} client processes x {CONNECTIONS} connections, {kills} SIGKILLed "
           f"and replaced; {valid} valid events ({valid / sent_seconds:,.0f}/s), {rejected} rejected packets")
    report(f"soak RSS: start {rss[0] / MIB:.1f} MiB, after warm-up {warm / MIB:.1f} MiB, end {end / MIB:.1f} MiB, "
           f"max {max(rss) / MIB:.1f} MiB (growth after warm-up {(end - warm) / MIB:+.2f} MiB)")
    report("soak " + watch.scrape_summary())
