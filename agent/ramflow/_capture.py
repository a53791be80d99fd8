"""Allocation-site capture (docs/agent.md, "Allocation sites"): on ramflowd's
`capture` command, tracemalloc records one bounded window and the agent sends
back the tracebacks that grew, then stops it and lets its memory go.

One window at a time:
  start  (flusher thread, on the command): tracemalloc started with few
         frames — or, when the application traces already, its tracing is
         used and never stopped by us; RSS, RssAnon, traced and tracemalloc's
         own memory read.
  end    at the N-th task end (worker thread, right after the task's record:
         the task's temporaries are gone), or once T seconds passed with no
         task running (flusher), or at 2 T (T + 5 s at least) whatever runs,
         or at interpreter exit. The traces are copied and tracemalloc
         stopped at once, so the worker stops paying for it.
  result grouping and naming on the flusher thread; one `allocation_sites`
         message, sticky like the other "said once" messages: a ramflowd that
         restarted mid-window gets the running window, then the result, on
         reconnect.
"""

import _thread
import json
import linecache
import os
import time
from typing import Any, Callable, Dict, List, Optional

from . import _memory, _sites, _tasks

try:
    import tracemalloc
    from _tracemalloc import _get_traces
except ImportError:  # an interpreter built without it: captures are refused
    tracemalloc = None  # type: ignore

MAX_TASKS = 100000
MAX_SECONDS = 3600.0
MAX_FRAMES = 64
MAX_TOP = 50
FRAMES_SENT = 8           # of each site's traceback, most recent first
MAX_RESULT_BYTES = 60000  # under the 64 KiB packet limit with the envelope
MIN_GRACE_SECONDS = 5.0
STICKY_KEY = "capture"

_monotonic = time.monotonic
_dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
_allocate_lock = _thread.allocate_lock
_AGENT_DIR = os.path.dirname(os.path.abspath(__file__))


def _own_files() -> List[str]:
    """The agent's modules: what they allocate is not the application's."""
    return [os.path.join(_AGENT_DIR, name) for name in os.listdir(_AGENT_DIR) if name.endswith(".py")]


def _memory_now() -> Dict[str, int]:
    statm = _memory.read_statm()
    page = _memory.PAGE_SIZE
    return {"rss": _memory.resident_pages(statm) * page, "anon": _memory.anon_pages(statm) * page,
            "traced": tracemalloc.get_traced_memory()[0], "overhead": tracemalloc.get_tracemalloc_memory()}


class Window:
    def __init__(self, request: Dict[str, Any], owned: bool, frames: int, baseline: _sites.Groups) -> None:
        self.id = request["id"]
        self.why = request["why"]
        self.tasks_wanted = request["tasks"]
        self.seconds = request["seconds"]
        self.top = request["top"]
        self.frames = frames
        self.owned = owned  # we started tracemalloc: we stop it
        self.baseline = baseline
        self.started = time.time()
        self.t0 = _monotonic()
        self.deadline = self.t0 + self.seconds
        self.hard_deadline = self.t0 + max(2 * self.seconds, self.seconds + MIN_GRACE_SECONDS)
        self.tasks_done = 0
        self.before = _memory_now()


class Capture:
    def __init__(self, post: Callable[[str, Optional[str]], None], wake: Callable[[], None]) -> None:
        self.post = post
        self.wake = wake
        self.own_files = _own_files()
        self._reset()

    def _reset(self) -> None:
        self.lock = _allocate_lock()
        self.window: Optional[Window] = None
        self.starting = False  # our tracemalloc started, its window not yet set
        # An ended window waiting for the flusher: (window, ended_by, end readings, traces, error).
        self.ended: Optional[tuple] = None

    # --- flusher thread -------------------------------------------------

    def command(self, message: Dict[str, Any]) -> None:
        request = _request(message)
        if request is None:
            return  # not a capture we can read: said nowhere, like any unknown command
        refusal = self._refusal()
        if refusal:
            self._post_outcome(request, "refused", refusal)
            return
        owned = False
        try:
            baseline: _sites.Groups = {}
            if tracemalloc.is_tracing():
                baseline = _sites.group(_get_traces(), self.own_files)
            else:
                self.starting = True  # a fork from now on must not leave the child tracing
                tracemalloc.start(request["frames"])
                owned = True
            window = Window(request, owned, tracemalloc.get_traceback_limit(), baseline)
        except Exception as error:  # never leave a tracemalloc of ours running
            if owned and tracemalloc.is_tracing():
                tracemalloc.stop()
            self.starting = False
            self._post_outcome(request, "failed", "cannot start tracemalloc: %s" % error)
            return
        with self.lock:
            self.window = window
            self.starting = False
        _tasks.set_window_hook(self.task_ended)
        self.post(self._body(window, "running"), STICKY_KEY)

    def _refusal(self) -> str:
        if tracemalloc is None:
            return "this Python has no tracemalloc"
        with self.lock:
            busy = self.window or (self.ended and self.ended[0])
        return "capture %s is still running" % busy.id if busy else ""

    def tick(self) -> None:
        window = self.window
        if window is not None:
            now = _monotonic()
            if now >= window.hard_deadline:
                self._end("deadline")
            elif now >= window.deadline and not _tasks.running():
                self._end("seconds")
        if self.ended is not None:
            self._report()

    # --- worker thread: after each task end while a window is open --------

    def task_ended(self) -> None:
        window = self.window
        if window is None:
            return
        window.tasks_done += 1
        try:
            if window.tasks_done >= window.tasks_wanted:
                self._end("tasks")
            elif _monotonic() >= window.deadline:
                self._end("seconds")
        except Exception:  # never into the worker's task
            pass

    # --- any thread ---------------------------------------------------------

    def _end(self, ended_by: str) -> None:
        """Copies the traces and stops our tracemalloc; the flusher does the rest."""
        with self.lock:
            window = self.window
            if window is None:
                return
            self.window = None
            _tasks.set_window_hook(None)
            traces = None
            error = ""
            after: Dict[str, int] = {}
            try:
                if not tracemalloc.is_tracing():
                    error = "the application stopped tracemalloc during the window"
                else:
                    after = _memory_now()
                    traces = _get_traces()
                    if window.owned:
                        tracemalloc.stop()
            except Exception as e:
                error = "cannot read the traces: %s" % e
                if window.owned and tracemalloc.is_tracing():
                    tracemalloc.stop()
            self.ended = (window, ended_by, after, traces, error, time.time())
        self.wake()

    def _report(self) -> None:
        with self.lock:
            ended, self.ended = self.ended, None
        if ended is None:
            return
        window, ended_by, after, traces, error, ended_at = ended
        if error:
            self.post(self._body(window, "failed", error=error, ended_by=ended_by, ended_at=ended_at), STICKY_KEY)
            return
        cached = set(linecache.cache)
        try:
            rows, net = _sites.changes(window.baseline, _sites.group(traces, self.own_files))
            del traces
            window.baseline = {}
            sites = _sites.describe(_sites.top_sites(rows, self.own_files, window.top, FRAMES_SENT), _sites.Names())
        except Exception as e:
            self.post(self._body(window, "failed", error="cannot group the traces: %s" % e, ended_by=ended_by,
                                 ended_at=ended_at), STICKY_KEY)
            return
        finally:
            for name in set(linecache.cache) - cached:  # the sources we read: not kept
                linecache.cache.pop(name, None)
        before = window.before
        figures = {"rss_growth": after["rss"] - before["rss"], "anon_growth": after["anon"] - before["anon"],
                   "traced_growth": after["traced"] - before["traced"],
                   "tracemalloc_growth": after["overhead"] - before["overhead"], "grouped_growth": net}
        body = self._body(window, "done", ended_by=ended_by, ended_at=ended_at, figures=figures, sites=sites)
        while len(body.encode("utf-8", "replace")) > MAX_RESULT_BYTES and sites:
            sites.pop()
            body = self._body(window, "done", ended_by=ended_by, ended_at=ended_at, figures=figures, sites=sites)
        self.post(body, STICKY_KEY)

    # --- exit and fork ------------------------------------------------------

    def at_exit(self) -> None:
        """A window open at interpreter exit ends there: what it saw is sent."""
        if self.window is not None:
            self._end("exit")
        self._report()

    def after_fork_in_child(self) -> None:
        """The child inherits its parent's tracing, not its window."""
        window = self.window
        ours = self.starting or (window is not None and window.owned)
        if ours and tracemalloc.is_tracing():
            tracemalloc.stop()
        _tasks.set_window_hook(None)
        self._reset()

    # --- messages -----------------------------------------------------------

    def _body(self, window: Window, status: str, error: str = "", ended_by: Optional[str] = None,
              ended_at: Optional[float] = None, figures: Optional[Dict[str, int]] = None,
              sites: Optional[List[list]] = None) -> str:
        message = {"type": "allocation_sites", "id": window.id, "why": window.why, "status": status,
                   "error": _sites.cut(error, _sites.MAX_TEXT_BYTES) or None, "tasks_wanted": window.tasks_wanted,
                   "seconds_wanted": window.seconds, "frames": window.frames,
                   "tracing": "agent" if window.owned else "application", "started": window.started,
                   "ended": ended_at, "ended_by": ended_by, "tasks": window.tasks_done}
        message.update(figures or {})
        message["sites"] = sites or []
        return _dumps(message)[1:-1]

    def _post_outcome(self, request: Dict[str, Any], status: str, error: str) -> None:
        """A refusal or a failure to start: not sticky (a running window's message stays)."""
        self.post(_dumps({"type": "allocation_sites", "id": request["id"], "why": request["why"],
                          "status": status, "error": _sites.cut(error, _sites.MAX_TEXT_BYTES),
                          "tasks_wanted": request["tasks"],
                          "seconds_wanted": request["seconds"], "frames": request["frames"],
                          "tracing": None, "started": time.time(), "ended": None, "ended_by": None,
                          "tasks": 0, "sites": []})[1:-1], None)


def _request(message: Dict[str, Any]) -> Optional[Dict[str, Any]]:
    """The command's fields, checked; None when any is missing or out of range."""
    def whole(name: str, low: int, high: int) -> Optional[int]:
        value = message.get(name)
        return value if type(value) is int and low <= value <= high else None

    ident, why = message.get("id"), message.get("why")
    seconds = message.get("seconds")
    request = {"id": ident, "why": why, "tasks": whole("tasks", 1, MAX_TASKS),
               "frames": whole("frames", 1, MAX_FRAMES), "top": whole("top", 1, MAX_TOP),
               "seconds": float(seconds) if type(seconds) in (int, float) and 0 < seconds <= MAX_SECONDS else None}
    if not (isinstance(ident, str) and 0 < len(ident) <= 64 and isinstance(why, str) and 0 < len(why) <= 32):
        return None
    return None if None in request.values() else request
