"""Reads this process' memory from /proc/self without allocating much.

The hot path reads /proc/self/statm with one os.pread on a kept-open fd.
The fd names the process that opened it, so a forked child must call
`reopen()` (done by the agent's at-fork hook).
"""

import os
from typing import Dict, Optional

PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
_pread = os.pread
_statm_fd = -1
_statm_identity = (0, 0)


def reopen() -> bool:
    """Opens /proc/self/statm for this process (the old fd, if still ours, is closed)."""
    global _statm_fd, _statm_identity
    if _statm_fd >= 0 and still_statm():
        try:
            os.close(_statm_fd)
        except OSError:
            pass
    _statm_fd = -1
    try:
        _statm_fd = os.open("/proc/self/statm", os.O_RDONLY | os.O_CLOEXEC)
        st = os.fstat(_statm_fd)
        _statm_identity = (st.st_dev, st.st_ino)
    except OSError:
        return False
    return True


def statm_fd() -> int:
    return _statm_fd


def still_statm() -> bool:
    """False when someone closed our fd (or reused its number for another file)."""
    try:
        st = os.fstat(_statm_fd)
    except OSError:
        return False
    return (st.st_dev, st.st_ino) == _statm_identity


def rss_pages() -> int:
    return int(_pread(_statm_fd, 64, 0).split()[1])


def read_statm() -> bytes:
    """The raw /proc/self/statm line (pages: size resident shared text lib data dt)."""
    return _pread(_statm_fd, 64, 0)


def resident_pages(statm: bytes) -> int:
    return int(statm.split(None, 2)[1])


def anon_pages(statm: bytes) -> int:
    """RssAnon in pages: statm's "shared" is RssFile + RssShmem (Linux >= 4.5)."""
    fields = statm.split(None, 3)
    return int(fields[1]) - int(fields[2])


def status_bytes(*fields: str) -> Dict[str, int]:
    """Selected `/proc/self/status` fields (kB there), in bytes."""
    wanted = {f + ":" for f in fields}
    out: Dict[str, int] = {}
    try:
        with open("/proc/self/status", "rb") as f:
            for line in f:
                parts = line.split()
                if parts and parts[0].decode() in wanted:
                    out[parts[0].decode()[:-1]] = int(parts[1]) * 1024
    except OSError:
        pass
    return out


def reset_peak() -> bool:
    """Resets VmHWM to the current RSS (clear_refs 5). Also resets ru_maxrss,
    which Celery's worker_max_memory_per_child reads: hence off by default."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def peak_bytes() -> Optional[int]:
    return status_bytes("VmHWM").get("VmHWM")
