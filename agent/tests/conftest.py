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


class Connection:
    def __init__(self, pid: int, uid: int) -> None:
        self.pid = pid
        self.uid = uid
        self.messages: List[dict] = []
        self.closed = False
        self.sock: Optional[socket.socket] = None

    def send(self, message: dict) -> None:
        """A command to the agent (protocol 2: ramflowd's `capture`)."""
        self.sock.send(json.dumps(dict(message, v=2)).encode())

    def of_type(self, kind: str) -> List[dict]:
        return [m for m in self.messages if m["type"] == kind]

    def records(self) -> List[list]:
        """Call records, in order: task ends (in `calls`, or riding in the next
        `task_start` as `ended`) and timeline samples (protocol 2 counts nothing with them)."""
        return [r for m in self.messages for r in m.get("calls", []) + m.get("ended", [])]

    def events(self, message: dict) -> int:
        """How many sequence numbers `message` uses."""
        if message["type"] == "calls":
            return len(message["calls"])
        return 1 + len(message.get("ended", []))  # a task start after the task ends it carries

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
                data = sock.recv(70000)
            except socket.timeout:
                continue
            except OSError:
                break
            if not data:
                break
            with self._cond:
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
