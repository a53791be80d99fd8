"""Top-level units of work (Celery tasks, `ramflow.task`): a measured call of
kind "task" (never sampled) whose start is announced at once (an OOM kill must
find its task) and whose end is sent at once as one record with the change in
Python objects and RssAnon, and optionally the exact peak (clear_refs).

The agent attaches its transport with `attach`; this module imports nothing
of the agent's (no cycle through a singleton).
"""

import _thread
import functools
import sys
from typing import Any, Callable, Dict, Optional

from . import _memory, _tracking

_running: Dict[int, "TaskRun"] = {}
_running_lock = _thread.allocate_lock()
_NO_POST: Callable[..., None] = lambda *args, **kwargs: None
_post: Callable[..., None] = _NO_POST
_unstick: Callable[[str], None] = lambda key: None
_exact_peak = False
_TASK_RECORD = '"type":"calls","calls":[[%s,"task",%s,%.6f,%.9f,%d,%d,%d,%d,%d,%d,%d,%s]]'


def attach(post: Callable[..., None], unstick: Callable[[str], None], exact_peak: bool) -> None:
    global _post, _unstick, _exact_peak
    _post, _unstick, _exact_peak = post, unstick, exact_peak


def forget_running() -> None:
    """In a forked child: the parent's running tasks are not the child's."""
    global _running_lock
    _running.clear()
    _running_lock = _thread.allocate_lock()


class TaskRun:
    __slots__ = ("name", "task_id", "stack", "frame", "row", "blocks0", "overlapped", "key")

    def __init__(self, name: str, task_id: Optional[str]) -> None:
        self.name = _tracking.bounded_label(name)
        self.task_id = task_id[:128] if task_id else None
        self.overlapped = False
        self.key = "task:%d" % id(self)


def start_task(name: str, task_id: Optional[str] = None) -> Optional[TaskRun]:
    if _post is _NO_POST or not _tracking.state.enabled:
        return None
    run = TaskRun(name, task_id)
    with _running_lock:
        if _running:
            run.overlapped = True
            for other in _running.values():
                other.overlapped = True
        _running[id(run)] = run
    rows, run.row = _tracking.thread_row(_tracking.function_id(run.name, "task"))
    run.stack = rows[0]
    run.blocks0 = sys.getallocatedblocks()
    if _exact_peak:
        _memory.reset_peak()
    run.frame = _tracking.enter(run.stack)
    if run.frame is None:
        with _running_lock:
            _running.pop(id(run), None)
        return None
    t0 = run.frame[4]
    rss = _memory.resident_pages(run.frame[1]) * _memory.PAGE_SIZE
    _post('"type":"task_start","name":%s,"id":%s,"t":%.6f,"rss":%d' % (
        _tracking.json_text(run.name), _tracking.json_text(run.task_id), _tracking.wall_seconds(t0), rss),
        sticky_key=run.key)
    return run


def end_task(run: Optional[TaskRun], failed: bool) -> None:
    if run is None:
        return
    frame = run.frame
    children = frame[0]
    with _running_lock:
        _running.pop(id(run), None)
    approximate = run.overlapped or _tracking.state.concurrent
    if approximate:
        run.row[_tracking.APPROX] += 1
    t1 = _tracking._perf_ns()
    m1 = _tracking.leave(run.stack, frame, run.row, _tracking.EXCEPTION if failed else 0, sample=False)
    _unstick(run.key)
    if m1 is None:
        return
    blocks1 = sys.getallocatedblocks()
    peak = _memory.peak_bytes() if _exact_peak else None
    page = _memory.PAGE_SIZE
    m0 = frame[1]
    r0, r1 = _memory.resident_pages(m0), _memory.resident_pages(m1)
    gross = r1 - r0
    flags = (_tracking.EXCEPTION if failed else 0) | (_tracking.APPROXIMATE if approximate else 0)
    _post(_TASK_RECORD % (
        _tracking.json_text(run.name), _tracking.json_text(run.task_id), _tracking.wall_seconds(frame[4]),
        (t1 - frame[4]) / 1e9, r0 * page, r1 * page, gross * page, (gross - children) * page, flags,
        blocks1 - run.blocks0, (_memory.anon_pages(m1) - _memory.anon_pages(m0)) * page,
        "null" if peak is None else "%d" % peak))


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
