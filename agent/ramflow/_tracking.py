"""Tracked calls: the hot path, net self and per-thread rows.

Each tracked call adds to its row: one plain list per (label, kind) and per
thread, written only by that thread (no lock, no lost update), which the
flusher harvests when marked dirty (_aggregate.py). Nothing is serialised
per call.

A *measured* call reads RSS (/proc/self/statm) at entry and exit and pushes a
frame on its thread's stack, so that the measured calls inside it credit it
their growth. From these readings (docs/analysis.md, "Net self"):
  net self   = its RSS change - the RSS changes of its measured children
  kept       = max(net self, 0)      released = max(-net self, 0)
  own rise   = the highest point of its own path (its RSS change with its
               children's cut out), observed at its readings and at its
               children's starts; >= kept
  freed      = own rise - kept
Figures are kept in pages; the flusher turns them into bytes.

Quiet functions are sampled: once QUIET_AFTER consecutive measured calls of a
row had all their own figures at zero, its calls are measured about one in
SAMPLE_EVERY (gaps drawn from a fixed shuffled table); the others are counted
with their duration but read nothing and act as untracked code (an RSS change
inside one lands in the enclosing measured call). The first measured call
whose own figures move makes every call of that row measured again.
RAMFLOW_MEASURE_ALL=1 measures every call.

Under gevent/eventlet the stack is per OS thread, so interleaved greenlets
share it: the process is then marked approximate, and frames are removed by
identity so interleaving can never corrupt the stack.
"""

import _thread
import functools
import json
import os
import random
import time
from collections import deque
from typing import Any, Callable, Deque, Dict, List, Optional, Tuple, TypeVar, Union

F = TypeVar("F", bound=Callable[..., Any])

MAX_LABEL_BYTES = 256
EXCEPTION = 1
APPROXIMATE = 2
QUIET_AFTER = 64
SAMPLE_EVERY = 8
SAMPLE_MIN_NS = 1_000_000  # timeline sample: calls that moved RSS or lasted >= 1 ms
SAMPLES_KEPT = 64           # timeline samples waiting for the flusher (oldest go first)

# Row fields. row[:VALUES] are the figures the flusher harvests; the hot path
# of `wrap` uses the literal indexes (a global lookup per field costs ~20 ns).
CALLS, ERRORS, NS, MEASURED, GROSS, KEPT, FREED, RELEASED, PEAK, APPROX = range(10)
VALUES = 10
SKIP, QUIET, DIRTY, FID, GEN, LAST = range(10, 16)

# Frame fields: children's RSS change (pages), statm at entry, own rise so
# far (pages), entry RSS (pages; 0 = not parsed yet), entry time (ns).
_CHILDREN, _STATM, _OWN, _R0, _T0 = range(5)

_local = _thread._local()
_perf_ns = time.perf_counter_ns
_pread = os.pread
_WALL_OFFSET_NS = time.time_ns() - time.perf_counter_ns()
_dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode

# Module globals the hot path reads; the agent sets them at start, after fork
# and when the statm fd was lost.
_fd = -1                   # /proc/self/statm, kept open
_measure_all = False
_generation = 0            # a forked child ignores rows its parent filled
DIRTY_ROWS: Deque[list] = deque()           # rows touched since the flusher last looked
SAMPLES: Deque[tuple] = deque(maxlen=SAMPLES_KEPT)
LABELS: List[Optional[Tuple[str, str]]] = [None]  # function id -> (label, kind)
_ids: Dict[Tuple[str, str], int] = {}
_ids_lock = _thread.allocate_lock()
_rng = random.Random(0x5EED)
_GAPS = [_rng.randint(1, 2 * SAMPLE_EVERY - 2) for _ in range(64)]
_gap_index = [0]


class _State:
    enabled: bool = False
    concurrent: bool = False  # threads/gevent/eventlet pool: RSS is shared


state = _State()


def configure(fd: int, measure_all: bool) -> None:
    global _fd, _measure_all
    _fd, _measure_all = fd, measure_all
    state.enabled = fd >= 0


def after_fork_in_child() -> None:
    """The child starts with no rows, samples or dirty marks of its parent's."""
    global _generation
    _generation += 1
    _local.rows = [[]]
    DIRTY_ROWS.clear()
    SAMPLES.clear()


def bounded_label(label: str) -> str:
    raw = label.encode("utf-8", "replace")
    if len(raw) <= MAX_LABEL_BYTES:
        return label
    return raw[:MAX_LABEL_BYTES].decode("utf-8", "ignore")


def function_id(label: str, kind: str = "function") -> int:
    """The small integer that names (label, kind) in every thread's rows."""
    key = (bounded_label(label), kind)
    fid = _ids.get(key)
    if fid is None:
        with _ids_lock:
            fid = _ids.get(key)
            if fid is None:
                fid = len(LABELS)
                LABELS.append(key)
                _ids[key] = fid
    return fid


def thread_row(fid: int) -> Tuple[list, list]:
    """This thread's rows (index 0 holds its stack) and its row for `fid`."""
    try:
        rows = _local.rows
    except AttributeError:
        rows = _local.rows = [[]]
    if len(rows) <= fid:
        rows.extend([None] * (fid + 1 - len(rows)))
    row = rows[fid]
    if row is None:
        row = rows[fid] = [0] * VALUES + [0, 0, 0, fid, _generation, None]
    return rows, row


def stack() -> list:
    try:
        return _local.rows[0]
    except AttributeError:
        _local.rows = [[]]
        return _local.rows[0]


def mark_dirty(row: list) -> None:
    row[DIRTY] = 1
    DIRTY_ROWS.append(row)


def _pages(statm: bytes) -> int:
    return int(statm.split(None, 2)[1])


def enter(s: list) -> Optional[list]:
    """Reads RSS and pushes the frame of a measured call; None when statm is
    unreadable (the call is then counted unmeasured)."""
    try:
        m = _pread(_fd, 64, 0)
    except OSError:
        return None
    frame = [0, m, 0, 0, 0]
    if s:
        parent = s[-1]
        if m != parent[_STATM] or parent[_CHILDREN]:
            # A point of the parent's own path: its change so far minus its children's.
            r = frame[_R0] = _pages(m)
            if not parent[_R0]:
                parent[_R0] = _pages(parent[_STATM])
            level = r - parent[_R0] - parent[_CHILDREN]
            if level > parent[_OWN]:
                parent[_OWN] = level
    s.append(frame)
    frame[_T0] = _perf_ns()
    return frame


def _pop_interleaved(s: list, frame: list) -> None:
    """Removes `frame` from under the top (greenlets interleaved on one stack)."""
    for i in range(len(s) - 1, -1, -1):
        if s[i] is frame:
            del s[i]
            return


def leave(s: list, frame: list, row: list, failed: int, sampled: bool = True) -> Optional[bytes]:
    """Ends a measured call: adds its figures to `row`, credits the enclosing
    frame; for a function (`sampled`), counts its quiet calls (sampling) and
    keeps a timeline sample. A task is never sampled and sends its own record.
    Returns statm at exit (None if unreadable)."""
    t1 = _perf_ns()
    try:
        m = _pread(_fd, 64, 0)
    except OSError:
        m = None
    if s and s[-1] is frame:
        s.pop()
    else:
        _pop_interleaved(s, frame)
    row[CALLS] += 1
    row[NS] += t1 - frame[_T0]
    if failed:
        row[ERRORS] += 1
    if m is not None:
        row[MEASURED] += 1
        if m == frame[_STATM] and not frame[_CHILDREN] and not frame[_OWN]:
            moved = 0
            gross = 0
        else:
            r0 = frame[_R0] or _pages(frame[_STATM])
            frame[_R0] = r0
            gross = _pages(m) - r0
            net = gross - frame[_CHILDREN]
            own = frame[_OWN] if frame[_OWN] > net else net
            if net > 0:
                row[KEPT] += net
                row[FREED] += own - net
            else:
                row[RELEASED] -= net
                row[FREED] += own
            row[GROSS] += own
            if own > row[PEAK]:
                row[PEAK] = own
            if s:
                s[-1][_CHILDREN] += gross
            moved = own or net
        if sampled:
            if moved:
                row[QUIET] = 0
                row[SKIP] = 0
            else:
                row[QUIET] += 1
                if row[QUIET] >= QUIET_AFTER and not _measure_all:
                    i = _gap_index[0] = (_gap_index[0] + 1) & 63
                    row[SKIP] = _GAPS[i]
            if moved or gross or t1 - frame[_T0] >= SAMPLE_MIN_NS:
                r0 = frame[_R0] or _pages(frame[_STATM])
                SAMPLES.append((row[FID], frame[_T0], t1, r0, r0 + gross, frame[_CHILDREN], failed))
    if not row[DIRTY]:
        mark_dirty(row)
    return m


def count_unmeasured(row: list, t0: int, failed: int) -> None:
    row[CALLS] += 1
    row[NS] += _perf_ns() - t0
    if failed:
        row[ERRORS] += 1
    if not row[DIRTY]:
        mark_dirty(row)


def finish(s: list, frame: Optional[list], row: list, t0: int, failed: int) -> None:
    """Ends a call begun by `enter` (frame), or counted unmeasured (no frame).
    Never raises into the caller."""
    try:
        if frame is None:
            count_unmeasured(row, t0, failed)
        else:
            leave(s, frame, row, failed)
    except Exception:
        pass


def wrap(func: F, label: str, kind: str = "function") -> F:
    """The decorator form. Its unmeasured path is written out inline (it is
    the path of quiet functions, the cheapest there is); measured calls go
    through enter/leave."""
    fid = function_id(label, kind)
    if not state.enabled:
        return func
    local = _local
    perf = _perf_ns

    @functools.wraps(func)
    def tracked(*args: Any, **kwargs: Any) -> Any:
        try:
            rows = local.rows
            row = rows[fid]
        except (AttributeError, IndexError):
            rows, row = thread_row(fid)
        if row is None:
            rows, row = thread_row(fid)
        skip = row[10]  # SKIP
        if skip:
            row[10] = skip - 1
            t0 = perf()
            try:
                return func(*args, **kwargs)
            except BaseException:
                row[1] += 1  # ERRORS
                raise
            finally:
                row[2] += perf() - t0  # NS
                row[0] += 1            # CALLS
                if not row[12]:        # DIRTY
                    mark_dirty(row)
        s = rows[0]
        frame = enter(s)
        t0 = perf() if frame is None else 0  # statm unreadable: counted unmeasured
        failed = 0
        try:
            return func(*args, **kwargs)
        except BaseException:
            failed = EXCEPTION
            raise
        finally:
            finish(s, frame, row, t0, failed)

    return tracked  # type: ignore[return-value]


class Tracked:
    """`ramflow.track("label")`: a decorator and a context manager at once."""

    __slots__ = ("label", "_fid", "_open")

    def __init__(self, label: str) -> None:
        self.label = bounded_label(label)
        self._fid = function_id(self.label)
        self._open = _thread._local()

    def __call__(self, func: F) -> F:
        return wrap(func, self.label)

    def __enter__(self) -> "Tracked":
        if state.enabled:
            try:
                rows, row = thread_row(self._fid)
                if row[SKIP]:
                    row[SKIP] -= 1
                    frame = None
                else:
                    frame = enter(rows[0])
                entry = (rows[0], frame, row, _perf_ns())
                try:
                    self._open.entries.append(entry)
                except AttributeError:
                    self._open.entries = [entry]
            except Exception:
                pass
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        try:
            s, frame, row, t0 = self._open.entries.pop()
        except (AttributeError, IndexError):
            return
        finish(s, frame, row, t0, EXCEPTION if exc_type else 0)


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


def wall_seconds(perf_ns: int) -> float:
    return (perf_ns + _WALL_OFFSET_NS) / 1e9


def json_text(value: Any) -> str:
    return _dumps(value)
