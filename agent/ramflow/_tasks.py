"""Top-level units of work (Celery tasks, `ramflow.task`): a measured call of
kind "task" (never sampled) whose start is announced at once (an OOM kill must
find its task). Its end is one record with the change in RssAnon, in Python
objects (sys.getallocatedblocks, on a sample of tasks: see below) and
optionally the exact peak (clear_refs); it leaves with the next task start, in
the same packet (one send per task), or with the next flush.

sys.getallocatedblocks() walks every pymalloc pool: ~5 us in a small worker,
far more in a large heap. It is read on a task only while its reading has
cost at most BLOCKS_NS_PER_TASK (0.5 us) per task on average; the other tasks' records
carry null (ramflowd's bloat attribution uses the tasks that carry both).

While an allocation-site capture is open, each task end calls its hook
(set_window_hook): a window can end on a task boundary.

The agent attaches its transport with `attach`; this module imports nothing
of the agent's (no cycle through a singleton).
"""

import _thread
import functools
import sys
from typing import Any, Callable, Dict, Optional, Tuple

from . import _memory, _tracking

BLOCKS_NS_PER_TASK = 500
_running: Dict[int, "TaskRun"] = {}
_start: Optional[Callable[[str, int], None]] = None  # sends a task start (with the ends queued before it)
_end: Callable[[str, int], None] = lambda record, key: None  # queues a task end, unsticks its start
_exact_peak = False
_window_hook: Optional[Callable[[], None]] = None  # set while an allocation-site window is open (_capture.py)
_names: Dict[str, Tuple[str, str, int]] = {}  # task name -> (label, label as JSON, function id)
_blocks_cost = [0, 0]  # ns spent in getallocatedblocks, tasks started
# Bound once: each module attribute lookup costs on the path of every task.
_perf_ns = _tracking._perf_ns
_allocated_blocks = sys.getallocatedblocks
_enter, _leave, _thread_row, _wall = _tracking.enter, _tracking.leave, _tracking.thread_row, _tracking.wall_seconds
_APPROX, _EXCEPTION, _APPROXIMATE = _tracking.APPROX, _tracking.EXCEPTION, _tracking.APPROXIMATE
_PAGE = _memory.PAGE_SIZE
_START = '"type":"task_start","name":%s,"id":%s,"t":%.6f,"rss":%d'
_RECORD = '[%s,"task",%s,%.6f,%.9f,%d,%d,%d,%d,%d,%s,%d,%s]'


def attach(start: Callable[[str, int], None], end: Callable[[str, int], None], exact_peak: bool) -> None:
    global _start, _end, _exact_peak
    _start, _end, _exact_peak = start, end, exact_peak


def set_window_hook(hook: Optional[Callable[[], None]]) -> None:
    """Called after every task end while set (the capture window counts tasks)."""
    global _window_hook
    _window_hook = hook


def running() -> bool:
    return bool(_running)


def forget_running() -> None:
    """In a forked child: the parent's running tasks are not the child's."""
    _running.clear()


def _name(name: str) -> Tuple[str, str, int]:
    known = _names.get(name)
    if known is None:
        label = _tracking.bounded_label(name)
        known = (label, _tracking.json_text(label), _tracking.function_id(label, "task"))
        if len(_names) < 10000:
            _names[name] = known
    return known


def _id_json(task_id: Optional[str]) -> str:
    if not task_id:
        return "null"
    task_id = task_id[:128]
    if task_id.isascii() and task_id.isprintable() and '"' not in task_id and "\\" not in task_id:
        return '"%s"' % task_id  # already JSON (Celery's UUIDs)
    return _tracking.json_text(task_id)


def _blocks(paired: bool = False) -> Optional[int]:
    """sys.getallocatedblocks() within its budget (always at the end of a task
    whose start read it), else None."""
    if not paired and _blocks_cost[0] > _blocks_cost[1] * BLOCKS_NS_PER_TASK:
        return None
    t0 = _perf_ns()
    blocks = _allocated_blocks()
    _blocks_cost[0] += _perf_ns() - t0
    return blocks


class TaskRun:
    __slots__ = ("label", "id_json", "stack", "frame", "row", "blocks0", "overlapped", "start", "key")

    def __init__(self, label: str, id_json: str) -> None:
        self.label = label
        self.id_json = id_json
        self.overlapped = False
        self.key = id(self)  # its start's sticky key


def start_task(name: str, task_id: Optional[str] = None) -> Optional[TaskRun]:
    if _start is None or not _tracking.state.enabled:
        return None
    label, label_json, fid = _name(name)
    run = TaskRun(label_json, _id_json(task_id))
    if _running:  # dict operations are atomic: no lock on the path of every task
        run.overlapped = True
        for other in list(_running.values()):
            other.overlapped = True
    _running[run.key] = run
    rows, run.row = _thread_row(fid)
    run.stack = rows[0]
    _blocks_cost[1] += 1
    run.blocks0 = _blocks()
    if _exact_peak:
        _memory.reset_peak()
    run.frame = frame = _enter(run.stack)
    if frame is None:
        _running.pop(run.key, None)
        return None
    run.start = _wall(frame[4])
    _start(_START % (label_json, run.id_json, run.start, int(frame[1].split(None, 2)[1]) * _PAGE), run.key)
    return run


def end_task(run: Optional[TaskRun], failed: bool) -> None:
    if run is None:
        return
    frame = run.frame
    children = frame[0]
    _running.pop(run.key, None)
    approximate = run.overlapped or _tracking.state.concurrent
    if approximate:
        run.row[_APPROX] += 1
    t1 = _perf_ns()
    m1 = _leave(run.stack, frame, run.row, _EXCEPTION if failed else 0, False)
    if m1 is None:
        _end("", run.key)
        if _window_hook is not None:
            _window_hook()
        return
    blocks = None if run.blocks0 is None else _blocks(paired=True)
    peak = _memory.peak_bytes() if _exact_peak else None
    page = _PAGE
    m0 = frame[1]
    r0, shared0 = m0.split(None, 3)[1:3]
    r1, shared1 = m1.split(None, 3)[1:3]
    r0, r1 = int(r0), int(r1)
    gross = r1 - r0
    flags = (_EXCEPTION if failed else 0) | (_APPROXIMATE if approximate else 0)
    _end(_RECORD % (run.label, run.id_json, run.start, (t1 - frame[4]) / 1e9,
                    r0 * page, r1 * page, gross * page, (gross - children) * page, flags,
                    "null" if blocks is None else "%d" % (blocks - run.blocks0),
                    (gross - int(shared1) + int(shared0)) * page, "null" if peak is None else "%d" % peak),
         run.key)
    if _window_hook is not None:
        _window_hook()


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
