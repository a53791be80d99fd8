"""The per-process agent: lifecycle phases, hello, tasks, fork handling.

One instance per process, created when `ramflow` is imported. Everything
here runs outside the per-call hot path; every public entry point swallows
its own errors (the worker must never see them).
"""

import atexit
import json
import os
import platform
import sys
from typing import Dict, Optional

from . import _board, _memory, _tasks, _tracking
from ._aggregate import Aggregate
from ._capture import Capture
from ._config import Config
from ._imports import ImportMeter
from ._transport import Transport

AGENT_VERSION = "0.3.0"
MAX_STRING_BYTES = 128
_dumps = json.JSONEncoder(separators=(",", ":")).encode

# Who marked ready; a marker replaces a ready of lower rank only. "fork": a
# child of a ready process is ready at fork (multiprocessing, gunicorn), until
# its framework marks its own ready (Celery's worker_process_init).
READY_RANK = {"fork": 1, "django": 2, "celery": 3, "explicit": 4}


def _body(message: dict) -> str:
    """A message without the envelope's braces; the transport adds v and seq."""
    return _dumps(message)[1:-1]


def _short(text: str, limit: int = MAX_STRING_BYTES) -> str:
    raw = text.encode("utf-8", "replace")
    return text if len(raw) <= limit else raw[:limit].decode("utf-8", "ignore")


class Agent:
    def __init__(self, config: Config) -> None:
        self.config = config
        self.framework = "none"
        self.pool = "none"
        self.worker = config.worker_name
        self.worker_index: Optional[int] = None
        self.ready_rank = 0
        self.ready_rss: Optional[int] = None
        self.bootstrap_rss: Optional[int] = None
        self.main_pid = os.getpid()
        self.transport = Transport(
            config.socket_path, Aggregate(), self._heartbeat_body, self._check_fds,
            config.outbox_limit, config.flush_seconds, config.heartbeat_seconds)
        self.imports = ImportMeter(self._on_imported)
        self.board: Optional[_board.Board] = None
        self.capture = Capture(self.transport.post, self.transport.wake)
        self.transport.on_command = self._on_command
        self.transport.on_tick = self._on_tick
        self.integrations: Dict[str, bool] = {}
        self.multiprocessing_exit_arranged = False

    # --- start-up -----------------------------------------------------------

    def start(self) -> None:
        if not _memory.reopen():
            return  # no /proc/self/statm (not Linux): stay a no-op
        self._configure_hot_path()
        self._attach_board()
        self._post_hello()
        self.bootstrap_rss = self._post_phase("bootstrap", inherited=False)
        self.imports.install()
        for name in list(sys.modules):
            if "." not in name:
                self._on_imported(name)
        os.register_at_fork(before=self._before_fork,
                            after_in_parent=self.transport.after_fork_in_parent,
                            after_in_child=self._after_fork_in_child)
        atexit.register(self.flush_at_exit)
        self.transport.start()

    def _configure_hot_path(self) -> None:
        _tracking.configure(_memory.statm_fd(), self.config.measure_all)

    def _attach_board(self) -> None:
        """A new board for this process, or none: then task starts are sent.
        The one it replaces is dropped, not closed: a task may be writing it."""
        self.board = _board.create()
        t = self.transport
        t.board_fd = self.board.fd if self.board is not None else -1
        _tasks.attach(self.board, t.post_task_start, t.unstick, t.send_task_ends, self.config.exact_peak)

    def _check_fds(self) -> None:
        """A daemonizer may close every fd: reopen statm if ours was lost, and
        make a new board (sent with a new hello) if its fd was."""
        if not _memory.still_statm():
            _memory.reopen()
            self._configure_hot_path()
        if self.board is not None and not self.board.still_open():
            self._attach_board()
            self._post_hello()

    def _on_imported(self, top: str) -> None:
        if top in ("celery", "django") and not self.integrations.get(top):
            self.integrations[top] = True
            if top == "celery":
                from . import _celery
                _celery.connect(self)
            else:
                from . import _django
                _django.connect(self)

    def _before_fork(self) -> None:
        try:
            self._arrange_multiprocessing_exit()
        except Exception:
            pass
        self.transport.before_fork()

    def _arrange_multiprocessing_exit(self) -> None:
        """multiprocessing ends its children with os._exit after its own
        finalizers, so atexit never runs there: register a finalizer in each
        child (it clears the ones inherited, hence an after-fork hook)."""
        util = sys.modules.get("multiprocessing.util")
        if util is None or self.multiprocessing_exit_arranged:
            return
        self.multiprocessing_exit_arranged = True
        util.register_after_fork(self, _flush_when_multiprocessing_child_exits)

    def _on_command(self, command: dict) -> None:
        """A command from ramflowd (flusher thread); unknown types are ignored."""
        try:
            if command.get("type") == "capture":
                self.capture.command(command)
        except Exception:
            pass

    def _on_tick(self) -> None:
        try:
            self.capture.tick()
        except Exception:
            pass

    def _after_fork_in_child(self) -> None:
        try:
            self.capture.after_fork_in_child()
        except Exception:
            pass
        try:
            parent_ready = self.ready_rank > 0
            _memory.reopen()
            _tracking.after_fork_in_child()
            _tasks.forget_running()
            if self.board is not None:
                self.board.close()  # the parent's: never written here
            self._attach_board()  # before the new flusher could pass the parent's
            self.transport.after_fork_in_child(Aggregate())
            self._configure_hot_path()
            self.ready_rank = 0
            self.ready_rss = None
            self._post_hello()
            # The bootstrap the child inherited is its parent's (DESIGN: prefork).
            self._post_phase("bootstrap", inherited=True)
            if parent_ready:
                self.mark_ready("fork")
        except Exception:
            pass

    # --- messages -----------------------------------------------------------

    def _post_hello(self) -> None:
        self.transport.post(_body({
            "type": "hello", "agent": AGENT_VERSION,
            "python": _short(platform.python_version()),
            "framework": _short(self.framework), "pool": _short(self.pool),
            "worker": _short(self.worker, 256), "index": self.worker_index,
            "pid": os.getpid(),
        }), sticky_key="hello")

    def _post_phase(self, phase: str, inherited: bool, imports=None) -> int:
        status = _memory.status_bytes("VmHWM", "RssAnon")
        rss = _memory.rss_pages() * _memory.PAGE_SIZE
        message = {
            "type": "phase", "phase": phase, "t": _tracking.wall_seconds(_tracking._perf_ns()),
            "rss": rss, "hwm": status.get("VmHWM", rss), "anon": status.get("RssAnon", 0),
            "blocks": sys.getallocatedblocks(), "inherited": inherited,
        }
        if imports is not None:
            message["imports"] = [[_short(m, 256), b] for m, b in imports]
        self.transport.post(_body(message), sticky_key="phase:" + phase)
        return rss

    def _heartbeat_body(self) -> str:
        t = self.transport
        return _body({
            "type": "heartbeat", "t": _tracking.wall_seconds(_tracking._perf_ns()),
            "rss": _memory.rss_pages() * _memory.PAGE_SIZE,
            "dropped": t.dropped_total, "sent": t.sent_total,
        })

    # --- public operations (called through ramflow/__init__.py) -------------

    def describe(self, framework: Optional[str] = None, pool: Optional[str] = None,
                 worker: Optional[str] = None, index: Optional[int] = None) -> None:
        """Updates what hello says and re-sends it (the latest hello wins)."""
        if framework is not None:
            self.framework = framework
        if pool is not None:
            self.pool = pool
            _tracking.state.concurrent = pool in ("threads", "gevent", "eventlet")
        if worker is not None:
            self.worker = worker
        if index is not None:
            self.worker_index = index
        self._post_hello()

    def mark_ready(self, source: str = "explicit") -> None:
        rank = READY_RANK.get(source, 3)
        if rank <= self.ready_rank:
            return
        self.ready_rank = rank
        self.imports.uninstall()
        self.transport.mark_ready()
        # Imports are the worker group's, sent by the main: a child ready at fork adds none.
        imports = None if source == "fork" else self.imports.heaviest()
        self.ready_rss = self._post_phase("ready", inherited=False, imports=imports)

    def flush_at_exit(self) -> None:
        """The last figures of a process about to end (atexit, or a pool's exit hook)."""
        try:
            self.capture.at_exit()
        except Exception:
            pass
        try:
            self.transport.close_for_exit()
        except Exception:
            pass  # an exit hook that raises prints a traceback into the worker's log


def _flush_when_multiprocessing_child_exits(agent: Agent) -> None:
    util = sys.modules["multiprocessing.util"]
    util.Finalize(None, agent.flush_at_exit, exitpriority=-(1 << 30))  # after the user's finalizers


_agent: Optional[Agent] = None


def get() -> Optional[Agent]:
    return _agent


def start() -> Optional[Agent]:
    global _agent
    if _agent is not None:
        return _agent
    config = Config.from_env()
    if config.disabled:
        return None
    agent = Agent(config)
    try:
        agent.start()
    except Exception as error:  # never break the worker's start-up
        print("ramflow: agent disabled: %s" % error, file=sys.stderr)
        _tracking.state.enabled = False
        return None
    _agent = agent
    return agent
