"""What a Celery task's tracking costs one agent: its task_prerun and
task_postrun handlers, called with what Celery's tracer passes them
(celery/app/trace.py: the registered task object, not the PromiseProxy
`@app.task` returns before the app is finalized, whose attribute reads cost
~0.7 us more), back to back after 1.5 s of the same (a busy worker's steady
state). Run by overhead.py in a process of its own for each agent it compares
(PYTHONPATH names the agent, RAMFLOW_SOCKET the sidecar, or nothing there):

    PYTHONPATH=<agent dir> RAMFLOW_SOCKET=<socket> /usr/bin/python3 celery_tasks.py ROUNDS BATCHES [live]

Prints one JSON line: per task, the median over ROUNDS of BATCHES x 1000
tasks of the calling thread's CPU and of the whole process' (the flusher's
share included); then, drained, the events its transport put on a connection
and dropped (for the sidecar's exact accounting), and the task ends it
dropped while measured. With `live`, waits until the agent's connection is
proven first. (Timed one by one between pauses, a task costs ten times more,
cold caches included: not a figure of ours alone.)
"""

import json
import os
import statistics
import sys
import time
import weakref

from celery import Celery, signals
from ramflow import _agent  # the agent under test, from PYTHONPATH (importing it starts it)

ROUNDS, BATCHES = int(sys.argv[1]), int(sys.argv[2])
LIVE = sys.argv[3:] == ["live"]
TASKS_PER_BATCH = 1000


def receiver(signal, name):
    for _, r in signal.receivers:
        if isinstance(r, weakref.ReferenceType):
            r = r()
        if getattr(r, "__name__", "") == name:
            return r
    raise SystemExit("the agent's %s receiver is not connected" % name)


def drain(t):
    """Stops the flusher, sends what is left, reports the drops: from here
    ramflowd has counted every event this process made."""
    t.stop()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        t.flush()
        with t.lock:
            if not t.outbox and not t.aggregate.pending:
                break
        time.sleep(0.05)
    t.post(_agent.get()._heartbeat_body())


def main():
    t = _agent.get().transport
    if LIVE:
        deadline = time.monotonic() + 30
        while not (t.sock is not None and t.proven) and time.monotonic() < deadline:
            t.next_attempt = 0
            time.sleep(0.05)
        if not t.proven:
            raise SystemExit("the agent never connected")
    app = Celery("bench", broker="memory://")

    @app.task(name="bench.task")
    def task():
        return None

    prerun = receiver(signals.task_prerun, "ramflow_on_task_prerun")
    postrun = receiver(signals.task_postrun, "ramflow_on_task_postrun")
    registered = app.tasks[task.name]
    no_args, no_kwargs = (), {}
    ids = ["bench-%d" % i for i in range(TASKS_PER_BATCH)]

    def one_batch():
        for task_id in ids:
            prerun(signal=signals.task_prerun, sender=registered, task_id=task_id, task=registered, args=no_args,
                   kwargs=no_kwargs)
            postrun(signal=signals.task_postrun, sender=registered, task_id=task_id, task=registered, args=no_args,
                    kwargs=no_kwargs, retval=None, state="SUCCESS")

    end = time.monotonic() + 1.5
    while time.monotonic() < end:
        one_batch()
    t.flush(functions=False)  # takes the count of task ends dropped so far
    dropped_before = t.dropped_total
    thread, process = [], []
    for _ in range(ROUNDS):
        t0, p0 = time.thread_time_ns(), time.process_time_ns()
        for _ in range(BATCHES):
            one_batch()
        thread.append(time.thread_time_ns() - t0)
        process.append(time.process_time_ns() - p0)
    t.flush(functions=False)
    dropped_measured = t.dropped_total - dropped_before
    drain(t)
    tasks = BATCHES * TASKS_PER_BATCH
    print(json.dumps({"thread_ns": statistics.median(thread) / tasks, "process_ns": statistics.median(process) / tasks,
                      "dropped_measured": dropped_measured, "sent": t.sent_total, "dropped": t.dropped_total}),
          flush=True)
    os._exit(0)  # no exit flush: what was counted above is all this process sends


if __name__ == "__main__":
    main()
