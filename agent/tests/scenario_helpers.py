"""Imported by the worker scenarios of the tests (runs inside the worker)."""

import time

import ramflow


def wait_connected(n: int = 1) -> None:
    t = ramflow._agent.get().transport
    deadline = time.monotonic() + 20
    while t.connects < n and time.monotonic() < deadline:
        time.sleep(0.01)
    assert t.connects >= n, "never connected"


def wait_drained() -> None:
    """Until every figure and queued message went out on a connection."""
    t = ramflow._agent.get().transport
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        t.flush()
        with t.lock:
            if t.sock is not None and t.proven and not t.outbox and not t.aggregate.pending:
                return
        time.sleep(0.01)
    raise AssertionError("never drained")
