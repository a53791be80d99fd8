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
    t = ramflow._agent.get().transport
    deadline = time.monotonic() + 20
    while (t.records or t.outbox or t.sock is None) and time.monotonic() < deadline:
        t.flush()
        time.sleep(0.01)
