"""Top-level units of work (Celery tasks, `ramflow.task`): a measured call of
kind "task" (never sampled).

Which task runs must be known to ramflowd at any moment, so that an OOM kill
in the middle of a task is pinned on it. With a task board (_board.py) a
start writes the task's name into shared memory: no system call, nothing
sent. Without one (no memfd_create), the start is sent at once instead and
kept sticky until the task ends.

A task's end is one record of raw readings (docs/protocol.md, `task_ends`):
its two statm lines as read, its start and duration, what its tracked
children grew, and the change in Python objects (sys.getallocatedblocks, on a
sample of tasks: see below) and optionally the exact peak (clear_refs);
ramflowd computes the figures. Formatting it is a single bytes `%`, about a
third of the figures' cost; the task id is not sent (ramflowd has no use for
it, and making an arbitrary id safe JSON costs ~0.4 us a task). The records
wait in ENDS; each time SEND_EVERY are waiting, the task that completes them
offers them to the transport (`_send_ends`: one send, never waiting for a
lock); the flusher takes whatever is left at its tick. A task costs its two
statm reads and a fraction of a send.

sys.getallocatedblocks() walks every pymalloc pool: ~5 us in a small worker,
far more in a large heap. It is read on a task only while its reading has
cost at most BLOCKS_NS_PER_TASK (0.5 us) per task on average; the other tasks' records
carry null (ramflowd's bloat attribution uses the tasks that carry both).

While an allocation-site capture is open, each task end calls its hook
(set_window_hook): a window can end on a task boundary.

The agent attaches its board and transport with `attach`; this module imports
nothing of the agent's (no cycle through a singleton).
"""

import _thread
import functools
import sys
from collections import deque
from itertools import islice
from typing import Any, Callable, Deque, Dict, Hashable, List, Optional, Tuple

from . import _memory, _tracking
from ._board import ENDED, ENDED_AT as _ENDED_AT, RUNNING as _RUNNING, SLOT, SLOT_AT as _SLOT_AT, Board

BLOCKS_NS_PER_TASK = 500
ENDS_WAITING = 1024  # task ends waiting to be sent; beyond: dropped and counted
SEND_EVERY = 128  # task ends offered to the transport at a time (one packet's worth)

ENDS: Deque[bytes] = deque()  # task end records waiting to be sent
_dropped = [0]                # ends dropped since the flusher last took the count
_dropped_lock = _thread.allocate_lock()
_running: Dict[int, list] = {}
_board: Optional[Board] = None
_post_start: Optional[Callable[[str, Hashable], None]] = None  # sends a start at once (no board)
_unstick: Callable[[Hashable], None] = lambda key: None
_send_ends: Callable[[], None] = lambda: None
_exact_peak = False
_window_hook: Optional[Callable[[], None]] = None  # set while an allocation-site window is open (_capture.py)
_names: Dict[str, Tuple[bytes, bytes, int]] = {}  # task name -> _name(task name)
_blocks_cost = [0, 0]  # ns spent in getallocatedblocks, tasks started
# Bound once: each module attribute lookup costs on the path of every task.
_state = _tracking.state
_perf_ns = _tracking._perf_ns
_allocated_blocks = sys.getallocatedblocks
_enter, _leave, _thread_row = _tracking.enter, _tracking.leave, _tracking.thread_row
_pack_slot, _pack_ended = SLOT.pack_into, ENDED.pack_into
_APPROX, _EXCEPTION, _APPROXIMATE = _tracking.APPROX, _tracking.EXCEPTION, _tracking.APPROXIMATE
_CHILDREN, _STATM, _T0 = _tracking._CHILDREN, _tracking._STATM, _tracking._T0
_WALL_OFFSET_NS = _tracking._WALL_OFFSET_NS
_PAGE = _memory.PAGE_SIZE
_START = '"type":"task_start","name":%s,"id":%s,"t":%.6f,"rss":%d'
# [label, start (Unix ns), duration (ns), statm at start, statm at end, children's growth (pages), flags, blocks,
#  peak]. The statm lines keep their newline here (slicing it off costs more than the transport's one
# replace per packet); _END_PLAIN is the same record with its last four fields at their usual value.
_END = b'[%s,%d,%d,"%s","%s",%d,%d,%s,%s]'
_END_PLAIN = b'[%s,%d,%d,"%s","%s",0,0,null,null]'

# A run: what its end needs. A list, not an object: the cheapest to make.
_LABEL, _NAME, _STACK, _FRAME, _ROW, _BLOCKS0, _OVERLAPPED, _SHOWN = range(8)


def attach(board: Optional[Board], post_start: Callable[[str, Hashable], None],
           unstick: Callable[[Hashable], None], send_ends: Callable[[], None], exact_peak: bool) -> None:
    global _board, _post_start, _unstick, _send_ends, _exact_peak
    _board, _post_start, _unstick, _send_ends, _exact_peak = board, post_start, unstick, send_ends, exact_peak


def set_window_hook(hook: Optional[Callable[[], None]]) -> None:
    """Called after every task end while set (the capture window counts tasks)."""
    global _window_hook
    _window_hook = hook


def running() -> bool:
    return bool(_running)


def forget_running() -> None:
    """In a forked child: the parent's running tasks and waiting ends are not the child's."""
    _running.clear()
    ENDS.clear()
    _dropped[0] = 0


def _name(name: str) -> Tuple[bytes, bytes, int]:
    """(label as JSON, label as UTF-8, function id), known names cached."""
    known = _names.get(name)
    if known is None:
        label = _tracking.bounded_label(name)
        known = (_tracking.json_text(label).encode("utf-8", "replace"), label.encode("utf-8", "replace"),
                 _tracking.function_id(label, "task"))
        if len(_names) < 10000:
            _names[name] = known
    return known


def _id_json(task_id: Any) -> bytes:
    if not task_id:
        return b"null"
    if task_id.__class__ is not str:
        task_id = str(task_id)
    task_id = task_id[:128]
    if task_id.isascii() and task_id.isprintable() and '"' not in task_id and "\\" not in task_id:
        return b'"%s"' % task_id.encode()  # already JSON (Celery's UUIDs)
    return _tracking.json_text(task_id).encode("utf-8", "replace")


# Every Python call on the path of a task costs ~0.2 us on a busy VM: the
# board writes are written out inline.

def start_task(name: str, task_id: Any = None) -> Optional[list]:
    if _post_start is None or not _state.enabled:
        return None
    label, name_bytes, fid = _names.get(name) or _name(name)
    rows, row = _thread_row(fid)
    run = [label, name_bytes, rows[0], None, row, None, False, 0]
    running = _running
    running[id(run)] = run
    if len(running) > 1:
        # Dict operations are atomic (no lock on the path of every task): of two
        # overlapping tasks, the later to get here sees both.
        for other in list(running.values()):
            other[_OVERLAPPED] = True
    blocks_cost = _blocks_cost
    blocks_cost[1] += 1
    if blocks_cost[0] <= blocks_cost[1] * BLOCKS_NS_PER_TASK:
        t0 = _perf_ns()
        run[_BLOCKS0] = _allocated_blocks()
        blocks_cost[0] += _perf_ns() - t0
    if _exact_peak:
        _memory.reset_peak()
    frame = run[_FRAME] = _enter(run[_STACK])
    if frame is None:
        running.pop(id(run), None)
        return None
    board = _board
    if board is not None:  # Board.show
        seq = run[_SHOWN] = board.next_seq()
        _pack_slot(board.map, _SLOT_AT[seq & 1], seq, _RUNNING, len(name_bytes), frame[_T0] + _WALL_OFFSET_NS,
                   name_bytes, seq)
    else:
        _post_start(_START % (label.decode(), _id_json(task_id).decode(), (frame[_T0] + _WALL_OFFSET_NS) / 1e9,
                              int(frame[_STATM].split(None, 2)[1]) * _PAGE), id(run))
    return run


def end_task(run: Optional[list], failed: bool) -> None:
    if run is None:
        return
    frame = run[_FRAME]
    children = frame[_CHILDREN]
    running = _running
    running.pop(id(run), None)
    approximate = run[_OVERLAPPED] or _state.concurrent
    row = run[_ROW]
    if approximate:
        row[_APPROX] += 1
    t1 = _perf_ns()
    m1 = _leave(run[_STACK], frame, row, _EXCEPTION if failed else 0, False)
    board = _board
    if board is None:
        _unstick(id(run))
    elif running:
        _show_latest(board, running)
    else:  # Board.ended
        _pack_ended(board.map, _ENDED_AT, run[_SHOWN])
    if m1 is None:
        if _window_hook is not None:
            _window_hook()
        return  # statm unreadable: counted in its row, no record
    blocks = run[_BLOCKS0]
    if blocks is not None:
        t0 = _perf_ns()
        blocks = b"%d" % (_allocated_blocks() - blocks)
        _blocks_cost[0] += _perf_ns() - t0
    peak = _memory.peak_bytes() if _exact_peak else None
    ends = ENDS
    if len(ends) >= ENDS_WAITING:
        with _dropped_lock:
            _dropped[0] += 1
    else:
        if children or failed or approximate or blocks is not None or peak is not None:
            ends.append(_END % (run[_LABEL], frame[_T0] + _WALL_OFFSET_NS, t1 - frame[_T0], frame[_STATM], m1,
                                children, (_EXCEPTION if failed else 0) | (_APPROXIMATE if approximate else 0),
                                b"null" if blocks is None else blocks, b"null" if peak is None else b"%d" % peak))
        else:
            ends.append(_END_PLAIN % (run[_LABEL], frame[_T0] + _WALL_OFFSET_NS, t1 - frame[_T0], frame[_STATM], m1))
        if len(ends) % SEND_EVERY == 0:
            _send_ends()
    if _window_hook is not None:
        _window_hook()


def _show_latest(board: Board, running: Dict[int, list]) -> None:
    """Tasks still running (a concurrent pool): the board shows the latest
    started (one just starting shows itself next)."""
    for latest in reversed(list(running.values())):  # a copy: other threads may change it
        frame = latest[_FRAME]
        if frame is not None:
            latest[_SHOWN] = board.show(latest[_NAME], frame[_T0] + _WALL_OFFSET_NS)  # its end names this write
            return
    board.idle()


def take_ends(limit: int = ENDS_WAITING) -> Tuple[List[bytes], int]:
    """Up to `limit` waiting ends, oldest first, and how many were dropped
    since the last take."""
    # Each pop is atomic and only the transport (under its lock) takes: the
    # ends there now stay there. iter(popleft, None) pops in C, ~3x faster.
    records = list(islice(iter(ENDS.popleft, None), min(limit, len(ENDS))))
    with _dropped_lock:
        dropped, _dropped[0] = _dropped[0], 0
    return records, dropped


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
