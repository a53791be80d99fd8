"""Test helpers: a real SOCK_SEQPACKET listener in Python standing in for
ramflowd's socket server (the C++ server is tested in tests/unit/ingest/), and
a runner for agent scripts in real /usr/bin/python3 processes (the agent is a
per-process singleton started at import, so each scenario gets its own process).
"""

import json
import os
import socket
import struct
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from typing import Callable, Dict, List, Optional, Sequence

import pytest

AGENT_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TESTS_DIR = os.path.dirname(os.path.abspath(__file__))
PYTHON = "/usr/bin/python3"
WAIT_SECONDS = 20  # generous bound on waiting for an event: not a timing assertion


PAGE = os.sysconf("SC_PAGE_SIZE")
BOARD_SLOT = struct.Struct("=QIIq256sQ")  # docs/protocol.md, "Task board"
BOARD_MAGIC = b"RFTB\x01\x00\x00\x00"


def figured(end: list) -> list:
    """A `task_ends` record as the `calls` record ramflowd's decoder makes of it:
    [label, kind, id, start, duration, rss before, rss after, gross, net self,
    flags, blocks, anon delta, peak] (bytes, seconds)."""
    label, start_ns, duration_ns, statm0, statm1, children, flags, blocks, peak = end
    r0, shared0 = (int(f) for f in statm0.split()[1:3])
    r1, shared1 = (int(f) for f in statm1.split()[1:3])
    gross = r1 - r0
    return [label, "task", None, start_ns / 1e9, duration_ns / 1e9, r0 * PAGE, r1 * PAGE, gross * PAGE,
            (gross - children) * PAGE, flags, blocks, (gross - shared1 + shared0) * PAGE, peak]


class Connection:
    def __init__(self, pid: int, uid: int) -> None:
        self.pid = pid
        self.uid = uid
        self.messages: List[dict] = []
        self.closed = False
        self.board_fd: Optional[int] = None  # the last task board passed (kept, as ramflowd keeps it)
        self.sock: Optional[socket.socket] = None

    def send(self, message: dict) -> None:
        """A command to the agent (protocol 3: ramflowd's `capture`)."""
        self.sock.send(json.dumps(dict(message, v=3)).encode())

    def of_type(self, kind: str) -> List[dict]:
        return [m for m in self.messages if m["type"] == kind]

    def records(self) -> List[list]:
        """Call records, in order: task ends (`task_ends`, figured as ramflowd
        does) and timeline samples (protocol 2 counts nothing with them)."""
        out: List[list] = []
        for m in self.messages:
            out += m.get("calls", []) + m.get("ended", []) + [figured(e) for e in m.get("ends", [])]
        return out

    def events(self, message: dict) -> int:
        """How many sequence numbers `message` uses."""
        if message["type"] == "calls":
            return len(message["calls"])
        if message["type"] == "task_ends":
            return len(message["ends"])
        return 1 + len(message.get("ended", []))  # a task start after the task ends it carries

    def board(self) -> Optional[tuple]:
        """What the task board says: ("running", task, since) or ("idle",);
        None without a board or with no valid slot. Read as ramflowd reads it."""
        if self.board_fd is None:
            return None
        slots_at = len(BOARD_MAGIC) + 8
        data = os.pread(self.board_fd, slots_at + 2 * BOARD_SLOT.size, 0)
        if data[:len(BOARD_MAGIC)] != BOARD_MAGIC:
            return None
        ended, = struct.unpack_from("=Q", data, len(BOARD_MAGIC))
        slots = [BOARD_SLOT.unpack_from(data, slots_at + i * BOARD_SLOT.size) for i in range(2)]
        valid = [s for s in slots if s[0] and s[0] == s[5]]
        if not valid:
            return None
        seq, state, length, since, name, _ = max(valid)
        running = state == 1 and ended != seq
        return ("running", name[:length].decode(), since / 1e9) if running else ("idle",)

    def running_task(self) -> Optional[str]:
        said = self.board()
        return said[1] if said and said[0] == "running" else None

    def functions(self) -> Dict[tuple, dict]:
        """(label, kind) -> the sum of every `functions` delta received."""
        out: Dict[tuple, dict] = {}
        for m in self.of_type("functions"):
            for row in m["rows"]:
                total = out.setdefault((row[0], row[1]), dict.fromkeys(FIGURES, 0))
                for name, value in zip(FIGURES, row[2:]):
                    if name == "peak":
                        total[name] = max(total[name], value)
                    elif name == "approximate":
                        total[name] = total[name] or value
                    else:
                        total[name] += value
        return out

    def calls_of(self, label: str, kind: str = "function") -> int:
        return self.functions().get((label, kind), {}).get("calls", 0)

    def net_self(self) -> Optional[dict]:
        """The last net_self table: {"since": ..., "rows": {(label, kind): figures}}."""
        tables = self.of_type("net_self")
        if not tables:
            return None
        return {"since": tables[-1]["since"],
                "rows": {(r[0], r[1]): dict(zip(FIGURES, r[2:])) for r in tables[-1]["rows"]}}


# A row of `functions` and `net_self` after its label and kind (docs/protocol.md).
FIGURES = ("calls", "measured", "errors", "seconds", "gross", "kept", "freed", "released", "peak", "approximate")


class Sidecar:
    """Accepts agents on `path`, decodes every packet as JSON, records it."""

    def __init__(self, path: str, read: bool = True) -> None:
        self.path = path
        self.connections: List[Connection] = []
        self.reading = threading.Event()
        if read:
            self.reading.set()
        self._cond = threading.Condition()
        self._stop = False
        self._socks: List[socket.socket] = []
        if os.path.exists(path):
            os.unlink(path)
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.listener.bind(path)
        self.listener.listen(16)
        self.listener.settimeout(0.05)
        self._thread = threading.Thread(target=self._accept_loop, daemon=True)
        self._thread.start()

    def _accept_loop(self) -> None:
        while not self._stop:
            try:
                sock, _ = self.listener.accept()
            except (socket.timeout, OSError):
                continue
            creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
            pid, uid, _gid = struct.unpack("3i", creds)
            conn = Connection(pid, uid)
            conn.sock = sock
            with self._cond:
                self.connections.append(conn)
                self._cond.notify_all()
            self._socks.append(sock)
            threading.Thread(target=self._read_loop, args=(sock, conn), daemon=True).start()

    def _read_loop(self, sock: socket.socket, conn: Connection) -> None:
        sock.settimeout(0.05)
        while not self._stop:
            if not self.reading.wait(0.05):
                continue
            try:
                data, fds, _, _ = socket.recv_fds(sock, 70000, 4)
            except socket.timeout:
                continue
            except OSError:
                break
            if not data:
                break
            with self._cond:
                for fd in fds[1:]:
                    os.close(fd)
                if fds:
                    if conn.board_fd is not None:
                        os.close(conn.board_fd)
                    conn.board_fd = fds[0]
                conn.messages.append(json.loads(data))
                self._cond.notify_all()
        with self._cond:
            conn.closed = True
            self._cond.notify_all()

    def wait_for(self, done: Callable[[], bool], what: str = "condition") -> None:
        deadline = time.monotonic() + WAIT_SECONDS
        with self._cond:
            while not done():
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError("sidecar stand-in: timed out waiting for " + what +
                                         "; got " + repr([c.messages[:20] for c in self.connections]))
                self._cond.wait(min(left, 0.1))

    def connection_of(self, pid: int) -> Connection:
        self.wait_for(lambda: any(c.pid == pid for c in self.connections), "a connection from pid %d" % pid)
        return [c for c in self.connections if c.pid == pid][-1]

    def close(self) -> None:
        self._stop = True
        self._thread.join()
        for s in self._socks:
            s.close()
        for c in self.connections:
            if c.board_fd is not None:
                os.close(c.board_fd)
                c.board_fd = None
        self.listener.close()
        if os.path.exists(self.path):
            os.unlink(self.path)


class Worker:
    """A real Python process running an agent scenario (`args`: its sys.argv[1:])."""

    def __init__(self, script: str, socket_path: str, env: Optional[Dict[str, str]] = None,
                 sitecustomize: bool = False, args: Sequence[str] = ()) -> None:
        full_env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "RAMFLOW_SOCKET": socket_path,
                    "PYTHONPATH": os.pathsep.join([
                        os.path.join(AGENT_DIR, "sitecustomize") if sitecustomize else AGENT_DIR, TESTS_DIR])}
        full_env.update(env or {})
        self.proc = subprocess.Popen([PYTHON, "-c", textwrap.dedent(script), *args], env=full_env,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def readline(self) -> str:
        line = self.proc.stdout.readline()
        assert line, "worker ended early: " + self.proc.stderr.read()
        return line.strip()

    def tell(self, line: str = "go") -> None:
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def finish(self) -> str:
        out, err = self.proc.communicate(timeout=WAIT_SECONDS)
        assert self.proc.returncode == 0, "worker failed: " + err
        return out


@pytest.fixture
def socket_path():
    with tempfile.TemporaryDirectory(prefix="ramflow-agent-test-") as d:
        yield os.path.join(d, "ramflow.sock")


@pytest.fixture
def sidecar(socket_path):
    s = Sidecar(socket_path)
    yield s
    s.close()
