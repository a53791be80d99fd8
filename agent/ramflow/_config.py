"""Settings read once from the environment (documented in docs/agent.md)."""

import os
from dataclasses import dataclass
from typing import Mapping, Optional


def default_socket_path(run_dir: str = "/run/ramflow", uid: Optional[int] = None) -> str:
    """The path ramflowd listens on when nobody configures one (same rule as
    src/ingest/default_socket_path.h)."""
    if os.path.isdir(run_dir):
        return os.path.join(run_dir, "ramflow.sock")
    return "/tmp/ramflow-%d/ramflow.sock" % (os.getuid() if uid is None else uid)


def _flag(value: Optional[str]) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


def _positive(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if value <= 0:
        # Never raise into the worker: say what is wrong and keep the default.
        import sys
        print("ramflow: ignoring %s=%r: expected a positive number; using %s" % (name, raw, default),
              file=sys.stderr)
        return default
    return value


@dataclass(frozen=True)
class Config:
    socket_path: str
    disabled: bool
    exact_peak: bool
    worker_name: str
    measure_all: bool
    flush_seconds: float
    heartbeat_seconds: float
    outbox_limit: int

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> "Config":
        return cls(
            socket_path=env.get("RAMFLOW_SOCKET") or default_socket_path(),
            disabled=_flag(env.get("RAMFLOW_DISABLE")),
            exact_peak=_flag(env.get("RAMFLOW_EXACT_PEAK")),
            worker_name=env.get("RAMFLOW_WORKER", ""),
            measure_all=_flag(env.get("RAMFLOW_MEASURE_ALL")),
            flush_seconds=_positive(env, "RAMFLOW_FLUSH_MS", 250.0) / 1000.0,
            heartbeat_seconds=_positive(env, "RAMFLOW_HEARTBEAT_SECONDS", 10.0),
            outbox_limit=int(_positive(env, "RAMFLOW_OUTBOX_LIMIT", 256)),
        )
