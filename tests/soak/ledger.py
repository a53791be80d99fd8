"""What one soak client sent, exact even when the client is SIGKILLed at any
instruction: a fixed vector of counters in a shared file mapping (the page cache
outlives the process), double-buffered behind one 8-byte state word.

A send is: begin(effect) writes the packet's effect and sets "pending"; the
packet goes to the kernel; commit() writes committed + effect into the other
buffer and flips buffer and clears "pending" in one store. After a kill the
reader gets the committed totals and, when the kill landed between begin and
commit, the one packet whose delivery is unknown (the kernel either queued it
whole or not at all: SOCK_SEQPACKET is atomic).
"""
from __future__ import annotations

import mmap
import os
import struct
from pathlib import Path

ACCEPTED_TYPES = ("hello", "task_start", "call", "heartbeat", "functions", "net_self")
REJECT_REASONS = ("malformed", "oversized", "unknown_version", "unknown_type", "over_limit", "absurd_value",
                  "out_of_order", "over_capacity")
FUNCTION_LABELS = tuple(f"soak.fn_{i}" for i in range(12))
TASK_LABELS = tuple(f"soak.task_{i}" for i in range(4))

KEYS = (
    tuple(f"accepted:{t}" for t in ACCEPTED_TYPES)
    + tuple(f"rejected:{r}" for r in REJECT_REASONS)
    + ("dropped:gap", "dropped:agent")
    + tuple(f"calls:{label}:function" for label in FUNCTION_LABELS)
    + tuple(f"calls:{label}:task" for label in TASK_LABELS)
)
INDEX = {key: i for i, key in enumerate(KEYS)}
_STATE = struct.Struct("<q")
_VECTOR = struct.Struct(f"<{len(KEYS)}q")
_SIZE = _STATE.size + 3 * _VECTOR.size  # state, pending effect, two committed buffers


def vector(effect: dict[str, int]) -> list[int]:
    v = [0] * len(KEYS)
    for key, n in effect.items():
        v[INDEX[key]] += n
    return v


class Ledger:
    def __init__(self, path: Path, create: bool = False):
        fd = os.open(path, os.O_RDWR | (os.O_CREAT | os.O_TRUNC if create else 0), 0o600)
        try:
            if create:
                os.ftruncate(fd, _SIZE)
            self._map = mmap.mmap(fd, _SIZE)
        finally:
            os.close(fd)
        state = _STATE.unpack_from(self._map, 0)[0]
        self._buffer = state >> 1
        self._committed = list(_VECTOR.unpack_from(self._map, self._offset(self._buffer)))
        self._pending: list[int] = [0] * len(KEYS)

    @staticmethod
    def _offset(buffer: int) -> int:
        return _STATE.size + _VECTOR.size * (1 + buffer)

    def begin(self, effect: list[int]) -> None:
        self._pending = effect
        _VECTOR.pack_into(self._map, _STATE.size, *effect)
        _STATE.pack_into(self._map, 0, self._buffer << 1 | 1)

    def commit(self) -> None:
        other = 1 - self._buffer
        self._committed = [a + b for a, b in zip(self._committed, self._pending)]
        _VECTOR.pack_into(self._map, self._offset(other), *self._committed)
        _STATE.pack_into(self._map, 0, other << 1)  # the one store that makes the packet counted
        self._buffer = other

    def abandon(self) -> None:
        """The packet begun was not delivered (its send failed): forget it."""
        _STATE.pack_into(self._map, 0, self._buffer << 1)

    def account(self) -> tuple[list[int], list[int] | None]:
        """(committed totals, effect of the packet in flight at death or None)."""
        state = _STATE.unpack_from(self._map, 0)[0]
        committed = list(_VECTOR.unpack_from(self._map, self._offset(state >> 1)))
        pending = list(_VECTOR.unpack_from(self._map, _STATE.size)) if state & 1 else None
        return committed, pending

    def close(self) -> None:
        self._map.close()
