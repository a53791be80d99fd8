"""Compatibility with the python-ram-flow library's `tracker` module.

    from ramflow import tracker

    @tracker.track                   # label: function name upper-cased, "_" -> " "
    def load_rows(): ...

    @tracker.track("Label")
    def parse(): ...

    tracker.log_django_bootstrap()   # end of the framework load (ready)
    residual_mb = tracker.check_final_release()
    path = tracker.generate_report()  # JSON of what this agent knows (see docs/agent.md)

A `batch_id` keyword argument is not put into the label (every batch would
become its own series); the local report lists the batch ids seen per label.
"""

import datetime
import functools
import gc
import json
import os
from typing import Any, Callable, Dict, List, Optional, Union

from . import _agent, _memory, _tracking

MB = 1024 * 1024
_MAX_BATCH_IDS = 100
_batches: Dict[str, List[str]] = {}


def label_for(func: Callable[..., Any]) -> str:
    """The seed library's rule: the function name, upper-cased, "_" -> " "."""
    return getattr(func, "__name__", "call").upper().replace("_", " ")


def _with_batch_notes(func: Callable[..., Any], label: str) -> Callable[..., Any]:
    tracked = _tracking.wrap(func, label)

    @functools.wraps(func)
    def call(*args: Any, **kwargs: Any) -> Any:
        batch_id = kwargs.get("batch_id")
        if batch_id is not None:
            seen = _batches.setdefault(label, [])
            if len(seen) < _MAX_BATCH_IDS:
                seen.append("batch:%s" % batch_id)
        return tracked(*args, **kwargs)
    return call


def track(arg: Union[Callable[..., Any], str, None] = None) -> Any:
    if callable(arg):
        return _with_batch_notes(arg, label_for(arg))
    if arg is None:
        return lambda func: _with_batch_notes(func, label_for(func))
    label = str(arg)
    return lambda func: _with_batch_notes(func, label)


def log_django_bootstrap() -> None:
    agent = _agent.get()
    if agent is not None:
        try:
            agent.describe(framework="django")
            agent.mark_ready("explicit")
        except Exception:
            pass


def _rss_bytes() -> int:
    try:
        return _memory.rss_pages() * _memory.PAGE_SIZE
    except OSError:
        return 0


def check_final_release() -> float:
    """Forces a full GC; returns RSS now minus RSS at ready (else bootstrap), in MB."""
    gc.collect()
    agent = _agent.get()
    base = None
    if agent is not None:
        base = agent.ready_rss if agent.ready_rss is not None else agent.bootstrap_rss
    return round((_rss_bytes() - (base or 0)) / MB, 2)


def generate_report(folder: Optional[str] = None, suffix: str = "audit") -> Optional[str]:
    """Writes `YYYYMMDD_HHMMSS_<APP_ENV>_<suffix>.json` with what this agent
    knows; the sidecar's HTML report replaces it later. Returns the path, or
    None when it cannot be written (never raises)."""
    agent = _agent.get()
    folder = folder or os.environ.get("RAMFLOW_REPORTS_DIR") or ".memory_audits"
    name = "%s_%s_%s.json" % (datetime.datetime.now().strftime("%Y%m%d_%H%M%S"),
                               os.environ.get("APP_ENV", "local"), suffix)
    report = {
        "pid": os.getpid(),
        "rss_bytes": _rss_bytes(),
        "bootstrap_rss_bytes": agent.bootstrap_rss if agent else None,
        "ready_rss_bytes": agent.ready_rss if agent else None,
        "imports": agent.imports.heaviest() if agent else [],
        "residual_mb": check_final_release(),
        "batches": _batches,
        "note": "local agent facts only; per-function aggregates live in ramflowd",
    }
    try:
        os.makedirs(folder, exist_ok=True)
        path = os.path.join(folder, name)
        with open(path, "w") as f:
            json.dump(report, f, indent=2)
        return path
    except OSError:
        return None
