"""The task board (docs/protocol.md, version 3): which task this process runs,
on a page of memory ramflowd can read at any moment, even after an OOM kill.

The board is a memfd of BOARD_BYTES the agent maps and passes to ramflowd
(SCM_RIGHTS, with its hello). A task start writes the task's name there; its
end writes "idle". No system call, no send: ramflowd reads the page when it
needs the running task (every sampling cycle, and once more when the
connection closes) and, holding its own fd, can still read it after the
process died.

Layout (native byte order, no padding): 8 bytes of MAGIC, then two slots of
SLOT: seq, state (IDLE or RUNNING), name length, start (Unix seconds), name
(256 bytes), seq again. A write fills the slot of its seq's parity in one
`pack_into` (one C call: other Python threads cannot interleave with it), seq
first and last, so a process killed in the middle of a write leaves a slot
whose two seqs differ: ramflowd then takes the other slot, the state before.
"""

import itertools
import mmap
import os
import struct
from typing import Optional

MAGIC = b"RFTB\x01\x00\x00\x00"
SLOT = struct.Struct("=QIId256sQ")
HEADER_BYTES = len(MAGIC)
BOARD_BYTES = HEADER_BYTES + 2 * SLOT.size
IDLE, RUNNING = 0, 1


class Board:
    """This process' board. Created in the process that writes it: a forked
    child makes its own (the mapping it inherited is its parent's)."""

    __slots__ = ("fd", "map", "_identity", "_seq")

    def __init__(self, fd: int, mapping: mmap.mmap) -> None:
        self.fd = fd
        self.map = mapping
        st = os.fstat(fd)
        self._identity = (st.st_dev, st.st_ino)
        self._seq = itertools.count(1)

    def show(self, name: bytes, since: float) -> None:
        """`name` (UTF-8, at most 256 bytes) runs since `since` (Unix seconds)."""
        seq = next(self._seq)
        SLOT.pack_into(self.map, HEADER_BYTES + (seq & 1) * SLOT.size, seq, RUNNING, len(name), since, name, seq)

    def idle(self) -> None:
        seq = next(self._seq)
        SLOT.pack_into(self.map, HEADER_BYTES + (seq & 1) * SLOT.size, seq, IDLE, 0, 0.0, b"", seq)

    def still_open(self) -> bool:
        """False when someone closed our fd (or reused its number for another file)."""
        try:
            st = os.fstat(self.fd)
        except OSError:
            return False
        return (st.st_dev, st.st_ino) == self._identity

    def close(self) -> None:
        """Unmaps and closes this process' copy (ramflowd keeps its own)."""
        try:
            self.map.close()
        except (ValueError, OSError):
            pass
        if self.still_open():
            os.close(self.fd)


def create() -> Optional[Board]:
    """A new idle board, or None where memfd_create is unavailable (the agent
    then sends each task start at once instead)."""
    fd = -1
    try:
        fd = os.memfd_create("ramflow-task-board", os.MFD_CLOEXEC)
        os.ftruncate(fd, BOARD_BYTES)
        mapping = mmap.mmap(fd, BOARD_BYTES)
        mapping[:HEADER_BYTES] = MAGIC
    except (AttributeError, OSError, ValueError):
        if fd >= 0:
            os.close(fd)
        return None
    try:
        board = Board(fd, mapping)
    except OSError:
        mapping.close()
        os.close(fd)
        return None
    board.idle()
    return board
