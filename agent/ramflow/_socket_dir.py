"""Whether the agent may trust the directory of ramflowd's socket before it
connects (the same rules as src/ingest/socket_directory.h; docs/security.md).

A directory another user controls could hold a socket of theirs: the agent
would then send them its task names. Trusted: a real directory (not a
symbolic link) owned by this process' user or by root, not writable by group
or others unless it is sticky (like /tmp) or a mount point of its own (a
volume made for it, like the chart's emptyDir at /run/ramflow); in such a
shared directory the socket itself must be owned by this user or root.
"""

import os
import stat
from typing import Dict, Optional, Tuple

_mount_points: Dict[Tuple[int, int], bool] = {}


def problem(socket_path: str) -> Optional[str]:
    """Why the agent must not connect to `socket_path`, or None. A missing
    directory is no problem here: the connect simply fails until it exists."""
    directory = os.path.dirname(os.path.abspath(socket_path))
    try:
        st = os.lstat(directory)
    except OSError:
        return None
    euid = os.geteuid()
    if stat.S_ISLNK(st.st_mode):
        return "its directory %s is a symbolic link" % directory
    if not stat.S_ISDIR(st.st_mode):
        return "%s is not a directory" % directory
    if st.st_uid not in (euid, 0):
        return "its directory %s is owned by uid %d, not by this process' uid %d or root" % (
            directory, st.st_uid, euid)
    if st.st_mode & 0o022 == 0:
        return None
    if not (st.st_mode & stat.S_ISVTX or is_mount_point(directory, st)):
        return "its directory %s is writable by other users (mode %o)" % (directory, stat.S_IMODE(st.st_mode))
    try:
        sock = os.lstat(socket_path)
    except OSError:
        return None
    if not stat.S_ISSOCK(sock.st_mode):
        return "%s is not a socket" % socket_path
    if sock.st_uid not in (euid, 0):
        return "%s, in a directory other users may write, is owned by uid %d, not by uid %d or root" % (
            socket_path, sock.st_uid, euid)
    return None


def is_mount_point(directory: str, st: os.stat_result) -> bool:
    """True when `directory` is the root of a mount (from /proc/self/mountinfo,
    which also sees bind mounts on the same file system)."""
    key = (st.st_dev, st.st_ino)
    if key not in _mount_points:
        _mount_points[key] = os.path.realpath(directory) in _mount_targets()
    return _mount_points[key]


def _mount_targets() -> set:
    targets = set()
    try:
        with open("/proc/self/mountinfo", "rb") as f:
            for line in f:
                fields = line.split(b" ")
                if len(fields) > 4:
                    targets.add(_unescape(fields[4]).decode("utf-8", "surrogateescape"))
    except OSError:
        pass
    return targets


def _unescape(path: bytes) -> bytes:
    """mountinfo writes space, tab, newline and backslash as \\ooo."""
    if b"\\" not in path:
        return path
    out = bytearray()
    i = 0
    while i < len(path):
        if path[i] == 0x5C and i + 3 < len(path) and path[i + 1:i + 4].isdigit():
            out.append(int(path[i + 1:i + 4], 8))
            i += 4
        else:
            out.append(path[i])
            i += 1
    return bytes(out)
