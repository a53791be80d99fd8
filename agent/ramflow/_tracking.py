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
import os
import time
from collections import deque
from typing import Any, Callable, Deque, List, TypeVar, Union

from . import _memory

F = TypeVar("F", bound=Callable[..., Any])

MAX_LABEL_BYTES = 256
EXCEPTION = 1
APPROXIMATE = 2

_PAGE = _memory.PAGE_SIZE
_dumps = json.JSONEncoder(separators=(",", ":")).encode
_local = _thread._local()
_perf_ns = time.perf_counter_ns
_pread = os.pread
_WALL_OFFSET_NS = time.time_ns() - time.perf_counter_ns()

# The hot path reads these module globals (the cheapest lookups it can do);
# the agent sets them at start, after fork and if the statm fd is lost.
RECORDS: Deque[tuple] = deque()  # drained by the transport's flusher
_fd = -1                         # /proc/self/statm, kept open
_queue_limit = 0
_count_dropped: Callable[[int], None] = lambda n: None


class _State:
    enabled: bool = False
    concurrent: bool = False  # threads/gevent/eventlet pool: RSS is shared


state = _State()


def configure(fd: int, queue_limit: int, count_dropped: Callable[[int], None]) -> None:
    global _fd, _queue_limit, _count_dropped
    _fd, _queue_limit, _count_dropped = fd, queue_limit, count_dropped
    state.enabled = fd >= 0


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


def json_label(label: str) -> str:
    """The label bounded and JSON-encoded once, at decoration time."""
    return _dumps(bounded_label(label))


def pages(statm: bytes) -> int:
    """Resident pages from a raw /proc/self/statm read."""
    return int(statm.split()[1])


def _emit(record: tuple) -> None:
    if len(RECORDS) < _queue_limit:
        RECORDS.append(record)
    else:
        _count_dropped(1)


def wrap(func: F, label: str) -> F:
    """The decorator form. The hot path keeps raw statm reads (parsed later
    by the flusher) and parses only to credit a tracked parent."""
    label = json_label(label)
    if not state.enabled:
        return func
    records = RECORDS
    local = _local
    pread = _pread
    perf = _perf_ns

    @functools.wraps(func)
    def tracked(*args: Any, **kwargs: Any) -> Any:
        try:
            s = local.stack
        except AttributeError:
            s = stack()
        frame = [0]
        s.append(frame)
        failed = 0
        try:
            m0 = pread(_fd, 64, 0)
        except OSError:
            m0 = b""
        t0 = perf()
        try:
            return func(*args, **kwargs)
        except BaseException:
            failed = EXCEPTION
            raise
        finally:
            t1 = perf()
            try:
                m1 = pread(_fd, 64, 0)
                if s[-1] is frame:
                    s.pop()
                else:
                    pop_frame(s, frame)
                if s:
                    s[-1][0] += int(m1.split()[1]) - int(m0.split()[1])
                if len(records) < _queue_limit:
                    records.append((label, t0, t1, m0, m1, frame[0], failed))
                else:
                    _count_dropped(1)
            except Exception:
                pass

    return tracked  # type: ignore[return-value]


class Tracked:
    """`ramflow.track("label")`: a decorator and a context manager at once."""

    __slots__ = ("label", "_json_label", "_frames")

    def __init__(self, label: str) -> None:
        self.label = bounded_label(label)
        self._json_label = json_label(self.label)
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
            frame[1] = _memory.rss_pages()
            frame[2] = _perf_ns()
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        try:
            frame = self._frames.open.pop()
        except (AttributeError, IndexError):
            return
        t1 = _perf_ns()
        try:
            r1 = _memory.rss_pages()
        except (OSError, ValueError, IndexError):
            return
        s = stack()
        pop_frame(s, frame)
        if s:
            s[-1][0] += r1 - frame[1]
        _emit((self._json_label, frame[2], t1, frame[1], r1, frame[0], EXCEPTION if exc_type else 0))


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



_FUNCTION_RECORD = '[%s,"function",null,%.6f,%.9f,%d,%d,%d,%d,%d,null,null,null]'


def encode_records(batch: List[Any]) -> str:
    """Wire form of a batch (docs/protocol.md, "calls"). Function calls arrive
    as hot-path tuples (JSON label, ns, ns, RSS as raw statm bytes from the
    decorator or pages from the context manager, children pages, flags);
    tasks arrive as lists already in wire form."""
    approx = APPROXIMATE if state.concurrent else 0
    page = _PAGE
    offset = _WALL_OFFSET_NS
    out = []
    for r in batch:
        if type(r) is tuple:
            label, t0, t1, r0, r1, children, flags = r
            try:
                if type(r0) is bytes:
                    r0 = int(r0.split(None, 2)[1])
                    r1 = int(r1.split(None, 2)[1])
            except (ValueError, IndexError):
                continue  # the statm fd was lost (e.g. closed by a daemonizer)
            gross = (r1 - r0) * page
            out.append(_FUNCTION_RECORD % (label, (t0 + offset) / 1e9, (t1 - t0) / 1e9, r0 * page,
                                           r1 * page, gross, gross - children * page, flags | approx))
        else:
            out.append(_dumps(r))
    return "[" + ",".join(out) + "]"


def wall_seconds(perf_ns: int) -> float:
    return (perf_ns + _WALL_OFFSET_NS) / 1e9

