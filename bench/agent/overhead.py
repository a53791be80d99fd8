"""Per-call cost of @ramflow.track, side by side with a python-ram-flow-style
decorator (psutil RSS before and after), and the slowdown of a realistic task.

    /usr/bin/python3 bench/agent/overhead.py [--quick]

Medians over repeated rounds, in one run, on one machine, in CPU time of the
calling thread (thread_time_ns: a shared machine's run queue does not count;
its cache and frequency effects still do, hence the reference pread row). The agent is live
but its sidecar is absent: records are queued, counted and dropped, which
costs the hot path the same as when they are sent (sending happens in the
flusher). Targets (issue 3): overhead <= 2 us; >= 8x cheaper than psutil;
realistic task (1 ms of work, 10 tracked calls) slower by < 3 %.
"""

import functools
import os
import statistics
import sys
import tempfile
import time
import tracemalloc

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "agent"))
os.environ.setdefault("RAMFLOW_SOCKET", os.path.join(tempfile.mkdtemp(), "absent.sock"))

import psutil  # noqa: E402

import ramflow  # noqa: E402

QUICK = "--quick" in sys.argv
ROUNDS = 7 if QUICK else 21
CALLS = 20000 if QUICK else 100000
REFERENCE_PSUTIL_NS = 18000  # the psutil decorator "on this machine" when issue 3 set its targets


def seed_style(func):
    """What python-ram-flow does per call: psutil RSS before and after."""
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        process = psutil.Process()
        before = process.memory_info().rss
        try:
            return func(*args, **kwargs)
        finally:
            after = process.memory_info().rss
            wrapper.growth = after - before
    return wrapper


def tracemalloc_style(func):
    """The stdlib's answer: tracemalloc's traced size before and after (it
    must be running, which taxes every allocation of the process)."""
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        before = tracemalloc.get_traced_memory()[0]
        try:
            return func(*args, **kwargs)
        finally:
            wrapper.growth = tracemalloc.get_traced_memory()[0] - before
    return wrapper


def plain():
    return None


tracked = ramflow.track(plain)
seeded = seed_style(plain)


def per_call_ns(func, calls):
    t0 = time.thread_time_ns()
    for _ in range(calls):
        func()
    return (time.thread_time_ns() - t0) / calls


def keep_queue_small():
    ramflow._agent.get().transport.records.clear()


def median_per_call(func, calls):
    samples = []
    for _ in range(ROUNDS):
        keep_queue_small()
        samples.append(per_call_ns(func, calls))
    return statistics.median(samples)


def calibrated_work(cpu_ns):
    """A fixed amount of CPU work taking about cpu_ns of this thread's CPU time
    (fixed work, not a wall-clock spin: a loaded machine must not shrink it).
    Sized on the work itself, median of 21 runs, twice: the cost per item of
    sum(range(n)) depends on n, and one interrupt must not shrink the work."""
    def median_ns(n):
        samples = []
        for _ in range(21):
            t0 = time.thread_time_ns()
            sum(range(n))
            samples.append(time.thread_time_ns() - t0)
        return statistics.median(samples)

    n = 10000
    for _ in range(3):
        n = max(1, int(n * cpu_ns / median_ns(n)))
    return functools.partial(sum, range(n))


def paired_slowdown(plain_task, tracked_task, pairs):
    """Each task alone, plain and tracked in turn, in the calling thread's CPU
    time; the slowdown of the median tracked task over the median plain one.
    Pairing keeps drift (frequency, neighbours) out of the difference; the
    median keeps an interrupt in one task out of it."""
    clock = time.thread_time_ns
    a, b = [], []
    for i in range(pairs):
        if i % 100 == 0:
            keep_queue_small()
        t0 = clock()
        plain_task()
        t1 = clock()
        tracked_task()
        t2 = clock()
        a.append(t1 - t0)
        b.append(t2 - t1)
    plain_ns, tracked_ns = statistics.median(a), statistics.median(b)
    return plain_ns, (tracked_ns - plain_ns) / plain_ns * 100


def realistic_task(step):
    for _ in range(10):
        step()


def main():
    fd = os.open("/proc/self/statm", os.O_RDONLY)
    pread = median_per_call(functools.partial(os.pread, fd, 64, 0), CALLS)
    base = median_per_call(plain, CALLS)
    ours = median_per_call(tracked, CALLS) - base
    theirs = median_per_call(seeded, CALLS // 10) - base

    step_plain = calibrated_work(100_000)  # 10 x 0.1 ms = 1 ms of work
    step_tracked = ramflow.track("step")(step_plain)
    runs = 200 if QUICK else 1000
    task_ns, slowdown = paired_slowdown(lambda: realistic_task(step_plain), lambda: realistic_task(step_tracked),
                                        runs * 3)

    # Cost against the number of tracked functions: the same calls spread
    # round-robin over N distinct tracked functions.
    spread = {}
    for n in (1, 100, 10000):
        funcs = [ramflow.track("f%d" % i)(plain) for i in range(n)]
        cycle = funcs * max(1, CALLS // (10 * n))
        def call_all(cycle=cycle):
            for f in cycle:
                f()
        spread[n] = median_per_call(call_all, 1) / len(cycle) - base

    # tracemalloc: its per-call decorator cost, and its global tax on the same task.
    traced = tracemalloc_style(plain)
    step_traced = tracemalloc_style(step_plain)
    tracemalloc.start()
    try:
        tm_call = median_per_call(traced, CALLS // 10) - base
        tm_slow = []
        for _ in range(ROUNDS):
            tracemalloc.stop()
            a = per_call_ns(lambda: realistic_task(step_plain), runs // 10)
            tracemalloc.start()
            b = per_call_ns(lambda: realistic_task(step_traced), runs // 10)
            tm_slow.append((b - a) / a * 100)
    finally:
        tracemalloc.stop()
    tm_slowdown = statistics.median(tm_slow)

    # The targets were set where this decorator cost ~18 us; syscalls
    # (two statm reads are most of our cost) scale alike, the 1 ms of pure
    # Python work of the realistic task does not.
    scale = REFERENCE_PSUTIL_NS / theirs
    rows = [
        ("reference: one pread of statm", "%.3f us" % (pread / 1000), "(0.63 us on an idle machine)"),
        ("undecorated call", "%.3f us" % (base / 1000), ""),
        ("@ramflow.track overhead", "%.3f us" % (ours / 1000), "target <= 2 us: %s" % ("PASS" if ours <= 2000 else "FAIL")),
        ("psutil-style decorator overhead", "%.3f us" % (theirs / 1000), ""),
        ("overhead / pread (load-independent)", "%.2f" % (ours / pread), ""),
        ("ratio psutil / ramflow", "%.1fx" % (theirs / ours), "target >= 8x: %s" % ("PASS" if theirs / ours >= 8 else "FAIL")),
        ("realistic task: plain, CPU time", "%.3f ms" % (task_ns / 1e6), "(aimed at 1 ms: 10 calls of 0.1 ms)"),
        ("realistic task slowdown", "%.2f %%" % slowdown, "target < 3 %%: %s" % ("PASS" if slowdown < 3 else "FAIL")),
        ("machine factor (psutil / 18 us)", "%.2f" % (1 / scale), "the issue's reference machine = 1"),
        ("overhead at the reference's speed", "%.3f us" % (ours * scale / 1000),
         "target <= 2 us: %s" % ("met" if ours * scale <= 2000 else "missed")),
        ("realistic task at the reference's speed", "%.2f %%" % (slowdown * scale),
         "target < 3 %%: %s" % ("met" if slowdown * scale < 3 else "missed")),
        ("tracemalloc decorator overhead", "%.3f us" % (tm_call / 1000), "ratio to ramflow %.1fx" % (tm_call / ours)),
        ("realistic task, tracemalloc", "%.2f %%" % tm_slowdown, "(tracemalloc running + decorator)"),
    ] + [("overhead, calls over %d functions" % n, "%.3f us" % (v / 1000), "") for n, v in spread.items()]
    print("%-34s %12s  %s" % ("measure (median of %d rounds)" % ROUNDS, "value", "verdict"))
    for name, value, verdict in rows:
        print("%-34s %12s  %s" % (name, value, verdict))
    return 0 if all("FAIL" not in r[2] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
