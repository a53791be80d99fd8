"""What an allocation-site capture costs the worker: during the window, after
it, and in memory; side by side in one run with tracemalloc left running (the
runbook's old advice, at its default of 1 frame and at 25 frames).

    /usr/bin/python3 bench/agent/capture_cost.py [--quick] [--ramflowd PATH]

The task is allocation-heavy on purpose, the worst case for tracemalloc: it
parses a 200-record JSON order (~40 KB), builds a dict per line with
formatted strings, sorts, and serialises a summary (about 2-4 ms here). Each
figure is a median over tasks of the calling thread's CPU time
(thread_time_ns). The window is opened the way ramflowd's command opens it
(Capture.command, as the flusher calls it) and ended by its task count.

Reported per frame depth: the task's slowdown during the window, the cost of
the task that ends it (traces copied, tracemalloc stopped) and of building the
result (flusher CPU), tracemalloc's own memory at the end, the process' RSS
after the window against before it, and the slowdown of the tasks after it.
Target after: none, within the noise of the same run — the same pair of task
blocks measured with no window between them (a shared machine's load drifts
between blocks).

Then ramflowd's side (the real ramflowd, build/default/src/ramflowd or
$RAMFLOWD or --ramflowd): its RSS with one worker connected, then after
40 on-demand captures of a worker with 12 leaking lines 8 frames deep (each
capture 10 sites of 8 frames, the most a default capture holds; the book keeps
32), and the state file's size.
"""

import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
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
    controls = []  # the same before/after pair with no window between: the noise of "after"
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
            before = statistics.median(task_times(TASKS // 2))
            after = statistics.median(task_times(TASKS // 2))
            controls.append((after - before) / before * 100)
        med = [statistics.median(x) for x in zip(*runs)]
        rows.append((frames, med, rss(), [r[4] for r in runs]))
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
    for frames, (during, ending, report_ns, tm, after, during_ns), rss_after, _ in rows:
        print("%-7d %8.2fms %9.1fx %11.1fx %10.1fms %9.0f KiB %+9.0f KiB %+10.1f %%" % (
            frames, during_ns / 1e6, during, ending, report_ns / 1e6, tm / 1024, (rss_after - rss0) / 1024, after))
    for frames, ratio in peers:
        print("peer: tracemalloc left running, %2d frame(s): %.1fx per task, every task" % (frames, ratio))
    afters = [a for row in rows for a in row[3]]
    q = lambda xs: statistics.quantiles(xs, n=4) if len(xs) > 1 else [xs[0]] * 3
    print("after a window: median %+.1f %% (quartiles %+.1f / %+.1f %%) over %d windows; the same pair of task "
          "blocks with no window between: median %+.1f %% (quartiles %+.1f / %+.1f %%)" % (
              statistics.median(afters), q(afters)[0], q(afters)[2], len(afters),
              statistics.median(controls), q(controls)[0], q(controls)[2]))


WORKER = """
import sys, threading, time
import ramflow
KEPT = []
%s
@ramflow.task("bench.many_sites")
def task(i):
    for leak in LEAKS:
        leak(i)
LEAKS = [%s]
print("running", flush=True)
done = threading.Event()
threading.Thread(target=lambda: (sys.stdin.read(), done.set()), daemon=True).start()
i = 0
while not done.is_set():
    task(i)
    i += 1
    time.sleep(0.002)
"""


def many_sites_worker(path):
    """12 leaking lines, each 8 calls below the task."""
    functions, names = [], []
    for n in range(12):
        chain = ["def leak_%d_0(i):\n    KEPT.append(bytearray(%d))  # site %d" % (n, 1024 + 64 * n, n)]
        for depth in range(1, 8):
            chain.append("def leak_%d_%d(i):\n    leak_%d_%d(i)" % (n, depth, n, depth - 1))
        functions.extend(chain)
        names.append("leak_%d_7" % n)
    with open(path, "w") as f:
        f.write(WORKER % ("\n".join(functions), ", ".join(names)))


def vm_rss(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def ramflowd_side():
    binary = os.environ.get("RAMFLOWD") or os.path.join(HERE, "..", "..", "build", "default", "src", "ramflowd")
    if "--ramflowd" in sys.argv:
        binary = sys.argv[sys.argv.index("--ramflowd") + 1]
    if not os.path.exists(binary):
        print("ramflowd side skipped: %s is not built" % binary)
        return
    tmp = tempfile.mkdtemp(prefix="ramflow-capture-bench-")
    tag = "capture-bench-%d" % os.getpid()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    daemon = subprocess.Popen([binary, "serve", "--listen", "127.0.0.1:%d" % port, "--socket", tmp + "/ramflow.sock",
                               "--process-match", tag, "--capture-auto", "false", "--ebpf", "off",
                               "--state-dir", tmp + "/state"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    script = os.path.join(tmp, "many_sites.py")
    many_sites_worker(script)
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": os.path.join(HERE, "..", "..", "agent"),
           "RAMFLOW_SOCKET": tmp + "/ramflow.sock"}
    worker = None
    try:
        while not os.path.exists(tmp + "/control.sock"):
            time.sleep(0.05)
        worker = subprocess.Popen(["/usr/bin/python3", script, tag], env=env, stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True)
        assert worker.stdout.readline().strip() == "running"

        def capture():
            for _ in range(100):
                run = subprocess.run([binary, "capture", "--pid", str(worker.pid), "--url", "unix:" + tmp + "/control.sock",
                                      "--output", "json"], capture_output=True, text=True, timeout=120)
                if run.returncode == 0:
                    return json.loads(run.stdout)
                time.sleep(0.2)  # not watched or not connected yet
            raise AssertionError(run.stderr)
        first = capture()
        time.sleep(2)
        before = vm_rss(daemon.pid)
        for _ in range(39):
            last = capture()
        time.sleep(2)  # a cycle writes the state
        after = vm_rss(daemon.pid)
        state = os.path.getsize(tmp + "/state/ramflow-state.json")
        frames = sum(len(site["traceback"]) for site in last["sites"])
        print("ramflowd: RSS %.1f MiB with one capture kept, %.1f MiB with 32 (+%.1f KiB a capture of %d sites, "
              "%d frames); state file %.0f KiB" % (before / 2**20, after / 2**20, (after - before) / 31 / 1024,
                                                   len(last["sites"]), frames, state / 1024))
        print("first capture's top site: %s:%d %s" % (first["sites"][0]["file"], first["sites"][0]["line"],
                                                      first["sites"][0]["code"]))
    finally:
        if worker is not None:
            worker.stdin.close()
            worker.wait(timeout=20)
        daemon.terminate()
        daemon.wait(timeout=10)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
    ramflowd_side()
