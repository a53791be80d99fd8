"""Top-level units of work (Celery tasks, `ramflow.task`): a tracked call of
kind "task" that is announced at once (an OOM kill must find its task), also
records the change in Python objects and RssAnon, and optionally the exact
peak (clear_refs).
"""

import _thread
import functools
import json
import sys
from typing import Any, Callable, Dict, Optional

from . import _agent, _memory, _tracking

_dumps = json.JSONEncoder(separators=(",", ":")).encode
_running: Dict[int, "TaskRun"] = {}
_running_lock = _thread.allocate_lock()


def forget_running() -> None:
    """In a forked child: the parent's running tasks are not the child's."""
    global _running_lock
    _running.clear()
    _running_lock = _thread.allocate_lock()


class TaskRun:
    __slots__ = ("name", "task_id", "frame", "r0", "t0", "blocks0", "anon0", "overlapped", "key")

    def __init__(self, name: str, task_id: Optional[str]) -> None:
        self.name = _tracking.bounded_label(name)
        self.task_id = task_id[:128] if task_id else None
        self.frame = [0]
        self.overlapped = False
        self.key = "task:%d" % id(self)


def start_task(name: str, task_id: Optional[str] = None) -> Optional[TaskRun]:
    agent = _agent.get()
    if agent is None or not _tracking.state.enabled:
        return None
    run = TaskRun(name, task_id)
    with _running_lock:
        if _running:
            run.overlapped = True
            for other in _running.values():
                other.overlapped = True
        _running[id(run)] = run
    _tracking.stack().append(run.frame)
    run.blocks0 = sys.getallocatedblocks()
    run.anon0 = _memory.status_bytes("RssAnon").get("RssAnon", 0)
    if agent.config.exact_peak:
        _memory.reset_peak()
    run.r0 = _memory.rss_pages()
    run.t0 = _tracking._perf_ns()
    agent.transport.post(_dumps({
        "type": "task_start", "name": run.name, "id": run.task_id,
        "t": _tracking.wall_seconds(run.t0), "rss": run.r0 * _memory.PAGE_SIZE,
    })[1:-1], sticky_key=run.key)
    return run


def end_task(run: Optional[TaskRun], failed: bool) -> None:
    if run is None:
        return
    t1 = _tracking._perf_ns()
    r1 = _memory.rss_pages()
    agent = _agent.get()
    peak = _memory.peak_bytes() if agent is not None and agent.config.exact_peak else None
    anon1 = _memory.status_bytes("RssAnon").get("RssAnon", 0)
    blocks1 = sys.getallocatedblocks()
    s = _tracking.stack()
    _tracking.pop_frame(s, run.frame)
    if s:
        s[-1][0] += r1 - run.r0
    with _running_lock:
        _running.pop(id(run), None)
    page = _memory.PAGE_SIZE
    gross = (r1 - run.r0) * page
    flags = (_tracking.EXCEPTION if failed else 0) | (
        _tracking.APPROXIMATE if run.overlapped or _tracking.state.concurrent else 0)
    _tracking._emit([run.name, "task", run.task_id, _tracking.wall_seconds(run.t0), (t1 - run.t0) / 1e9,
                     run.r0 * page, r1 * page, gross, gross - run.frame[0] * page, flags,
                     blocks1 - run.blocks0, anon1 - run.anon0, peak])
    if agent is not None:
        agent.transport.unstick(run.key)
        agent.transport.flush()


class TaskScope:
    """`ramflow.task("name")`: a decorator and a context manager at once."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._runs = _thread._local()

    def __call__(self, func: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(func)
        def run_as_task(*args: Any, **kwargs: Any) -> Any:
            with self:
                return func(*args, **kwargs)
        return run_as_task

    def __enter__(self) -> "TaskScope":
        run = _safe(start_task, self.name)
        try:
            self._runs.open.append(run)
        except AttributeError:
            self._runs.open = [run]
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        try:
            run = self._runs.open.pop()
        except (AttributeError, IndexError):
            return
        _safe(end_task, run, exc_type is not None)


def _safe(func: Callable[..., Any], *args: Any) -> Any:
    try:
        return func(*args)
    except Exception:
        return None
