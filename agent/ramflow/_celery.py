"""Celery: ready markers, pool detection and automatic task tracking.

Connected when `celery` is first imported (no import of Celery otherwise).
Signals: celeryd_init (node name), worker_init (pool), worker_process_init
(ready of a prefork child; solo sends it in the main process too, where it is
ignored), worker_ready (ready of the main process), task_prerun/task_postrun
(every pool: they run in the thread or greenlet that runs the task),
worker_process_shutdown (a prefork child about to end: billiard ends it with
os._exit and its main sends SIGTERM soon after, so atexit never runs; the last
figures go now).
"""

import os
from typing import Any, Dict

from . import _tasks

POOLS = ("prefork", "solo", "threads", "gevent", "eventlet")
_ALIASES = {"processes": "prefork", "threaded": "threads"}
_runs: Dict[str, Any] = {}


def pool_name(pool_cls: Any) -> str:
    """'prefork', 'solo', 'threads', 'gevent', 'eventlet' or 'custom'."""
    if isinstance(pool_cls, str):
        name = pool_cls.rsplit(":", 1)[0].rsplit(".", 1)[-1].lower()
    else:
        name = (getattr(pool_cls, "__module__", "") or "").rsplit(".", 1)[-1].lower()
    name = _ALIASES.get(name, name)
    if name == "thread":
        name = "threads"
    return name if name in POOLS else "custom"


def connect(agent: Any) -> None:
    from celery import signals

    main = {"pid": os.getpid()}

    def on_celeryd_init(sender: Any = None, **_: Any) -> None:
        main["pid"] = os.getpid()
        agent.describe(framework="celery", worker=str(sender or ""))

    def on_worker_init(sender: Any = None, **_: Any) -> None:
        pool = pool_name(getattr(sender, "pool_cls", ""))
        agent.describe(framework="celery", pool=pool)

    def on_worker_process_init(**_: Any) -> None:
        if os.getpid() == main["pid"]:
            return  # solo pool: the main process' ready is worker_ready
        index = None
        try:
            from billiard.process import current_process
            index = current_process().index
        except Exception:
            pass
        base = agent.worker.split("/", 1)[0]
        agent.describe(pool="prefork", worker="%s/%s" % (base, index) if index is not None else base,
                       index=index)
        agent.mark_ready("celery")

    def on_worker_process_shutdown(**_: Any) -> None:
        if os.getpid() != main["pid"]:
            agent.flush_at_exit()

    def on_worker_ready(**_: Any) -> None:
        agent.mark_ready("celery")

    start_task, end_task = _tasks.start_task, _tasks.end_task

    # On the path of every task: no wrapper (each costs a call with its keywords).
    def ramflow_on_task_prerun(task_id: Any = None, task: Any = None, **_: Any) -> None:
        try:
            _runs[task_id] = start_task(getattr(task, "name", None) or "unknown", task_id)
        except Exception:
            pass

    def ramflow_on_task_postrun(task_id: Any = None, state: Any = None, **_: Any) -> None:
        try:
            end_task(_runs.pop(task_id, None), state == "FAILURE")
        except Exception:
            pass

    for signal, handler in ((signals.celeryd_init, _guarded(on_celeryd_init)),
                            (signals.worker_init, _guarded(on_worker_init)),
                            (signals.worker_process_init, _guarded(on_worker_process_init)),
                            (signals.worker_ready, _guarded(on_worker_ready)),
                            (signals.worker_process_shutdown, _guarded(on_worker_process_shutdown)),
                            (signals.task_prerun, ramflow_on_task_prerun),
                            (signals.task_postrun, ramflow_on_task_postrun)):
        signal.connect(handler, weak=False)


def _guarded(handler: Any) -> Any:
    def call(*args: Any, **kwargs: Any) -> None:
        try:
            handler(*args, **kwargs)
        except Exception:
            pass
    call.__name__ = "ramflow_" + handler.__name__
    return call
