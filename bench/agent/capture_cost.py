"""What an allocation-site capture costs the worker: during the window, after
it, and in memory; side by side in one run with tracemalloc left running (the
runbook's old advice, at its default of 1 frame and at 25 frames).

    /usr/bin/python3 bench/agent/capture_cost.py [--quick]

The task is allocation-heavy on purpose, the worst case for tracemalloc: it
parses a 200-record JSON order (~40 KB), builds a dict per line with
formatted strings, sorts, and serialises a summary (about 2-4 ms here). Each
figure is a median over tasks of the calling thread's CPU time
(thread_time_ns). The window is opened the way ramflowd's command opens it
(Capture.command, as the flusher calls it) and ended by its task count.

Reported per frame depth: the task's slowdown during the window, the cost of
the task that ends it (traces copied, tracemalloc stopped) and of building the
result (flusher CPU), tracemalloc's own memory at the end, the process' RSS
after the window against before it, and the slowdown of the tasks after it
(target: none, within the noise of the same run: the spread of the baseline's
own halves).
"""

import json
import os
import statistics
import sys
import time
import tracemalloc

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "agent"))
os.environ.setdefault("RAMFLOW_SOCKET", "/nonexistent/ramflow-bench/ramflow.sock")  # no sidecar needed

import ramflow  # noqa: E402
from ramflow import _agent, _memory  # noqa: E402

QUICK = "--quick" in sys.argv
TASKS = 100 if QUICK else 400
WINDOW_TASKS = 20 if QUICK else 50
DEPTHS = (1, 4, 8, 16) if QUICK else (1, 2, 4, 6, 8, 12, 16, 25)
STACK = 30  # frames below the task (a Celery prefork child runs a task ~30 frames deep)
REPEATS = 1 if QUICK else 3

ORDER = json.dumps({"id": "order-1", "customer": {"name": "A. Customer", "tags": ["x"] * 8},
                    "lines": [{"sku": "SKU-%05d" % i, "qty": i % 7 + 1, "price": 9.99 + i, "note": "n" * 40}
                              for i in range(200)]})


@ramflow.task("bench.order")
def order_task():
    order = json.loads(ORDER)
    lines = []
    for line in order["lines"]:
        total = line["qty"] * line["price"]
        lines.append({"sku": line["sku"], "label": "%s x%d" % (line["sku"], line["qty"]),
                      "total": round(total, 2), "words": line["note"].split("n")[:4]})
    lines.sort(key=lambda l: -l["total"])
    return json.dumps({"id": order["id"], "top": lines[:20], "sum": sum(l["total"] for l in lines)})


def under_stack(depth, func):
    """Runs func below `depth` frames, as a Celery task runs below the worker's
    loop: tracemalloc's cost per allocation grows with the frames it can walk."""
    if depth <= 0:
        return func()
    return under_stack(depth - 1, func)


def task_times(n):
    clock = time.thread_time_ns
    out = []
    for _ in range(n):
        t0 = clock()
        under_stack(STACK, order_task)
        out.append(clock() - t0)
    return out


def rss():
    return _memory.resident_pages(_memory.read_statm()) * _memory.PAGE_SIZE


def always_on(frames):
    tracemalloc.start(frames)
    try:
        return statistics.median(task_times(TASKS))
    finally:
        tracemalloc.stop()


def one_window(capture, frames, ident):
    """Opens a window of WINDOW_TASKS tasks; returns its figures."""
    timed = {"report_ns": 0}
    report = capture._report

    def timed_report():
        t0 = time.thread_time_ns()
        report()
        timed["report_ns"] += time.thread_time_ns() - t0
    capture._report = timed_report
    posted = []
    capture.post = lambda body, key: posted.append(json.loads("{" + body + "}"))
    rss_before = rss()
    capture.command({"type": "capture", "id": ident, "why": "bench", "tasks": WINDOW_TASKS, "seconds": 600.0,
                     "frames": frames, "top": 10})
    times = task_times(WINDOW_TASKS)  # the last one ends the window
    capture.tick()  # the flusher's part, here on this thread (timed apart)
    capture._report = report
    result = [p for p in posted if p["status"] != "running"][-1]
    assert result["status"] == "done", result
    assert not tracemalloc.is_tracing()
    return {"during": statistics.median(times[:-1]), "ending": times[-1], "report_ns": timed["report_ns"],
            "rss_before": rss_before, "tm_memory": result["tracemalloc_growth"], "sites": result["sites"]}


def main():
    agent = _agent.get()
    capture = agent.capture
    agent.transport.stop()  # the flusher would also tick the capture: this run drives it alone
    task_times(TASKS)  # warm up: caches, freelists, arenas
    base = task_times(TASKS)
    base_ns = statistics.median(base)
    noise = abs(statistics.median(base[: TASKS // 2]) - statistics.median(base[TASKS // 2:])) / base_ns * 100
    rss0 = rss()
    rows = []
    # Each depth REPEATS times, each window between a baseline just before it
    # and the tasks just after it: ratios to the adjacent baseline, medians.
    for frames in DEPTHS:
        runs = []
        for r in range(REPEATS):
            before = statistics.median(task_times(TASKS // 2))
            w = one_window(capture, frames, "bench-%d-%d" % (frames, r))
            after = statistics.median(task_times(TASKS // 2))
            runs.append((w["during"] / before, w["ending"] / before, w["report_ns"], w["tm_memory"],
                         (after - before) / before * 100, w["during"]))
        med = [statistics.median(x) for x in zip(*runs)]
        rows.append((frames, med, rss()))
    peers = []
    for f in (1, 25):
        before = statistics.median(task_times(TASKS // 2))
        peers.append((f, always_on(f) / before))
    final_base = statistics.median(task_times(TASKS))

    print("allocation-site capture cost, %s, load %.2f %.2f %.2f, /usr/bin/python3 %s" % (
        time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), *os.getloadavg(), sys.version.split()[0]))
    print("task: %.2f ms CPU, %d frames deep (median of %d; %.2f ms at the end of the run); "
          "noise between its halves %.1f %%; window %d tasks; medians of %d windows per depth"
          % (base_ns / 1e6, STACK, TASKS, final_base / 1e6, noise, WINDOW_TASKS, REPEATS))
    print("%-7s %10s %10s %12s %12s %12s %12s %12s" % (
        "frames", "during", "slowdown", "ending task", "result CPU", "tracemalloc", "RSS after", "after"))
    for frames, (during, ending, report_ns, tm, after, during_ns), rss_after in rows:
        print("%-7d %8.2fms %9.1fx %11.1fx %10.1fms %9.0f KiB %+9.0f KiB %+10.1f %%" % (
            frames, during_ns / 1e6, during, ending, report_ns / 1e6, tm / 1024, (rss_after - rss0) / 1024, after))
    for frames, ratio in peers:
        print("peer: tracemalloc left running, %2d frame(s): %.1fx per task, every task" % (frames, ratio))


if __name__ == "__main__":
    main()
