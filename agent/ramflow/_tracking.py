"""Tracked calls: the hot path and net self.

A tracked call pushes a frame on its thread's stack, reads RSS before and
after, and appends one tuple to the transport's queue; serialisation happens
later in the flusher. Net self = gross growth - the gross growth of the tracked
calls nested inside it, on the same thread. Under gevent/eventlet the stack is
per OS thread, so interleaved greenlets share it: records are then marked
approximate (the process is in a concurrent pool), and frames are removed by
identity so interleaving can never corrupt the stack.
"""

import _thread
import functools
import json
import sys
import time
from typing import Any, Callable, List, Optional, TypeVar, Union

from . import _memory

F = TypeVar("F", bound=Callable[..., Any])

MAX_LABEL_BYTES = 256
EXCEPTION = 1
APPROXIMATE = 2

_local = _thread._local()
_perf_ns = time.perf_counter_ns
_rss_pages = _memory.rss_pages
_WALL_OFFSET_NS = time.time_ns() - time.perf_counter_ns()


class _State:
    """What the hot path needs; set by the agent at load and after fork."""
    records: Any = None       # the transport's deque
    queue_limit: int = 0
    count_dropped: Callable[[int], None] = lambda n: None
    enabled: bool = False
    concurrent: bool = False  # threads/gevent/eventlet pool: RSS is shared


state = _State()


def bounded_label(label: str) -> str:
    raw = label.encode("utf-8", "replace")
    if len(raw) <= MAX_LABEL_BYTES:
        return label
    return raw[:MAX_LABEL_BYTES].decode("utf-8", "ignore")


def stack() -> List[list]:
    try:
        return _local.stack
    except AttributeError:
        _local.stack = s = []
        return s


def pop_frame(s: List[list], frame: list) -> None:
    if s and s[-1] is frame:
        s.pop()
        return
    for i in range(len(s) - 1, -1, -1):
        if s[i] is frame:
            del s[i]
            return


def _emit(record: tuple) -> None:
    records = state.records
    if len(records) < state.queue_limit:
        records.append(record)
    else:
        state.count_dropped(1)


def wrap(func: F, label: str) -> F:
    """The decorator form: a closure, the cheapest call path CPython offers."""
    label = bounded_label(label)

    @functools.wraps(func)
    def tracked(*args: Any, **kwargs: Any) -> Any:
        if not state.enabled:
            return func(*args, **kwargs)
        try:
            s = _local.stack
        except AttributeError:
            s = stack()
        frame = [0]
        s.append(frame)
        failed = 0
        r0 = _rss_pages()
        t0 = _perf_ns()
        try:
            return func(*args, **kwargs)
        except BaseException:
            failed = EXCEPTION
            raise
        finally:
            t1 = _perf_ns()
            r1 = _rss_pages()
            if s[-1] is frame:
                s.pop()
            else:
                pop_frame(s, frame)
            if s:
                s[-1][0] += r1 - r0
            records = state.records
            if len(records) < state.queue_limit:
                records.append((label, t0, t1, r0, r1, frame[0], failed))
            else:
                state.count_dropped(1)

    return tracked  # type: ignore[return-value]


class Tracked:
    """`ramflow.track("label")`: a decorator and a context manager at once."""

    __slots__ = ("label", "_frames")

    def __init__(self, label: str) -> None:
        self.label = bounded_label(label)
        self._frames = _thread._local()

    def __call__(self, func: F) -> F:
        return wrap(func, self.label)

    def __enter__(self) -> "Tracked":
        if state.enabled:
            frame = [0, 0, 0]
            stack().append(frame)
            try:
                self._frames.open.append(frame)
            except AttributeError:
                self._frames.open = [frame]
            frame[1] = _rss_pages()
            frame[2] = _perf_ns()
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        try:
            frame = self._frames.open.pop()
        except (AttributeError, IndexError):
            return
        t1 = _perf_ns()
        r1 = _rss_pages()
        s = stack()
        pop_frame(s, frame)
        if s:
            s[-1][0] += r1 - frame[1]
        _emit((self.label, frame[2], t1, frame[1], r1, frame[0], EXCEPTION if exc_type else 0))


def track(arg: Union[Callable[..., Any], str, None] = None) -> Any:
    """`@track`, `@track("label")`, `with track("label"):`."""
    if callable(arg):
        return wrap(arg, default_label(arg))
    if arg is None:
        return lambda func: wrap(func, default_label(func))
    return Tracked(str(arg))


def default_label(func: Callable[..., Any]) -> str:
    module = getattr(func, "__module__", None) or ""
    name = getattr(func, "__qualname__", None) or getattr(func, "__name__", repr(func))
    return "%s.%s" % (module, name) if module else name


# --- serialisation (flusher thread) ------------------------------------------

_PAGE = _memory.PAGE_SIZE
_dumps = json.JSONEncoder(separators=(",", ":")).encode


def encode_records(batch: List[tuple]) -> str:
    """Wire form of a batch (docs/protocol.md, "calls")."""
    approx = APPROXIMATE if state.concurrent else 0
    out = []
    for r in batch:
        if len(r) == 7:  # a function call from the hot path
            label, t0, t1, r0, r1, children, flags = r
            gross = (r1 - r0) * _PAGE
            out.append([label, "function", None, (t0 + _WALL_OFFSET_NS) / 1e9, (t1 - t0) / 1e9,
                        r0 * _PAGE, r1 * _PAGE, gross, gross - children * _PAGE, flags | approx,
                        None, None, None])
        else:  # a task, already in wire form
            out.append(r)
    return _dumps(out)


def wall_seconds(perf_ns: int) -> float:
    return (perf_ns + _WALL_OFFSET_NS) / 1e9


def allocated_blocks() -> int:
    return sys.getallocatedblocks()


def current_task_frame() -> Optional[list]:
    s = stack()
    return s[0] if s else None
