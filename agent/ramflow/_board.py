"""The task board (docs/protocol.md, version 3): which task this process runs,
on a page of memory ramflowd can read at any moment, even after an OOM kill.

The board is a memfd of BOARD_BYTES the agent maps and passes to ramflowd
(SCM_RIGHTS, with its hello). A task start writes the task's name there; its
end marks that write ended. No system call, no send: ramflowd reads the page
when it needs the running task (every sampling cycle, and once more when the
connection closes) and, holding its own fd, can still read it after the
process died.

Layout (native byte order, no padding): 8 bytes of MAGIC, ENDED (the seq of
the last write whose task ended), then two slots of SLOT: seq, state (IDLE or
RUNNING), name length, start (Unix ns), name (256 bytes), seq again.
  * A write fills the slot of its seq's parity (SLOT_AT) in one `pack_into`
    (one C call: other Python threads cannot interleave with it), seq first
    and last, so a process killed in the middle of a write leaves a slot whose
    two seqs differ: ramflowd then takes the other slot, the state before.
  * The newest valid slot says what runs, unless ENDED names its seq (idle).
    An end names its own start's write: if another task started since, the
    newer slot stands, whatever order threads wrote in.
The task hot path (_tasks.py) makes the same writes inline: a Python call
costs ~0.2 us on a busy VM.
"""

import itertools
import mmap
import os
import struct
from typing import Optional

MAGIC = b"RFTB\x01\x00\x00\x00"
ENDED = struct.Struct("=Q")
ENDED_AT = len(MAGIC)
SLOT = struct.Struct("=QIIq256sQ")
HEADER_BYTES = ENDED_AT + ENDED.size
SLOT_AT = (HEADER_BYTES, HEADER_BYTES + SLOT.size)  # by seq parity
BOARD_BYTES = HEADER_BYTES + 2 * SLOT.size
IDLE, RUNNING = 0, 1


class Board:
    """This process' board. Created in the process that writes it: a forked
    child makes its own (the mapping it inherited is its parent's)."""

    __slots__ = ("fd", "map", "next_seq", "_identity")

    def __init__(self, fd: int, mapping: mmap.mmap) -> None:
        self.fd = fd
        self.map = mapping
        self.next_seq = itertools.count(1).__next__  # atomic under the GIL
        st = os.fstat(fd)
        self._identity = (st.st_dev, st.st_ino)

    def show(self, name: bytes, since_ns: int) -> int:
        """`name` (UTF-8, at most 256 bytes) runs since `since_ns` (Unix ns);
        returns the write's seq (for `ended`)."""
        seq = self.next_seq()
        SLOT.pack_into(self.map, SLOT_AT[seq & 1], seq, RUNNING, len(name), since_ns, name, seq)
        return seq

    def ended(self, seq: int) -> None:
        """The task that write `seq` showed ended."""
        ENDED.pack_into(self.map, ENDED_AT, seq)

    def idle(self) -> None:
        seq = self.next_seq()
        SLOT.pack_into(self.map, SLOT_AT[seq & 1], seq, IDLE, 0, 0, b"", seq)

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
        mapping[:len(MAGIC)] = MAGIC
    except Exception:  # whatever it is, the agent runs on without a board
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
