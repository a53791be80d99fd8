"""The socket directory cannot be taken over by another local user (issue 15,
item 4; rules in docs/protocol.md "Transport"). At commit 13c388f a
/tmp/ramflow-<uid> pre-created by uid 65534, or a symlink to /etc, was used as
is: the other user received root's agent messages, and the symlink made
ramflowd create /etc/ramflow.sock.

Real users through setpriv: the attacker is uid 65534 in /tmp (sticky and
world-writable, as on any host); ramflowd and the agent run as root.
ramflowd logs why it refuses and runs without the agent socket. The
chart's layout (a root-owned 0777 emptyDir, a mount point of its own, with
sidecar and worker under one non-root uid) keeps working. Needs root; skips
otherwise. Paths are private to the test, never /tmp/ramflow-0 itself.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import textwrap
import threading
import uuid
from pathlib import Path

import pytest

from prom_servers import free_port, ramflowd_binary, scrape_metrics, wait_until

REPO = Path(__file__).resolve().parents[2]
NOBODY = 65534
POD_UID = 4242

pytestmark = pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("setpriv"), reason="needs root and setpriv")


def as_uid(uid: int) -> list[str]:
    return ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--"]


LISTENER = """
    import socket, sys, time
    path = sys.argv[1]
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.bind(path)
    s.listen(8)
    s.settimeout(0.2)
    print("listening", flush=True)
    got = 0
    end = time.monotonic() + float(sys.argv[2])
    while time.monotonic() < end:
        try:
            conn, _ = s.accept()
        except socket.timeout:
            continue
        conn.settimeout(0.5)
        try:
            got += len(conn.recv(70000)) > 0
        except socket.timeout:
            pass
    print(got, flush=True)
"""


@pytest.fixture
def attacker_dir():
    """A directory in /tmp made by uid 65534, as if it had been there before ramflowd started."""
    path = Path("/tmp") / f"ramflow-takeover-{uuid.uuid4().hex[:8]}"
    subprocess.run(as_uid(NOBODY) + ["mkdir", "-m", "0755", str(path)], check=True)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def start_ramflowd(socket_path: Path, *prefix: str) -> subprocess.Popen:
    return subprocess.Popen([*prefix, str(ramflowd_binary()), "serve", "--listen", f"127.0.0.1:{free_port()}",
                             "--socket", str(socket_path), "--interval", "200ms", "--ebpf", "off"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def refused_start(socket_path: Path) -> str:
    """ramflowd's error about the socket (it then runs without the agent
    socket, as it does whenever the socket cannot be set up)."""
    daemon = start_ramflowd(socket_path)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(daemon.stdout.readline, "")), daemon=True)
    reader.start()
    try:
        wait_until(lambda: any("agent socket disabled" in line for line in lines), 20,
                   "ramflowd to refuse the socket directory")
    finally:
        daemon.terminate()
        daemon.wait(timeout=10)
    return "".join(lines)


def test_ramflowd_refuses_a_directory_another_user_created(attacker_dir):
    out = refused_start(attacker_dir / "ramflow.sock")
    assert f"{attacker_dir} is owned by uid {NOBODY}" in out, out
    assert not (attacker_dir / "ramflow.sock").exists()


def test_ramflowd_refuses_a_symlink_and_creates_nothing_through_it(tmp_path):
    etc = tmp_path / "etc"  # stands for /etc: root's, not to be written into
    etc.mkdir(mode=0o755)
    link = Path("/tmp") / f"ramflow-link-{uuid.uuid4().hex[:8]}"
    subprocess.run(as_uid(NOBODY) + ["ln", "-s", str(etc), str(link)], check=True)
    try:
        out = refused_start(link / "ramflow.sock")
        assert f"{link} is a symbolic link" in out, out
        assert list(etc.iterdir()) == []
    finally:
        link.unlink()


def test_ramflowd_refuses_a_directory_others_may_write(tmp_path):
    shared = Path(tempfile.mkdtemp(prefix="ramflow-shared-"))
    try:
        shared.chmod(0o777)
        out = refused_start(shared / "ramflow.sock")
        assert "writable by other users (mode 777)" in out, out
    finally:
        shutil.rmtree(shared)


def test_the_agent_does_not_talk_to_another_users_socket(attacker_dir):
    listener = subprocess.Popen(as_uid(NOBODY) + ["/usr/bin/python3", "-c", textwrap.dedent(LISTENER),
                                                  str(attacker_dir / "ramflow.sock"), "4"],
                                stdout=subprocess.PIPE, text=True)
    try:
        assert listener.stdout.readline().strip() == "listening"
        worker = subprocess.run(
            ["/usr/bin/python3", "-c", textwrap.dedent("""
                import time, ramflow
                with ramflow.task("secret-task-name"):
                    time.sleep(2)
            """)],
            env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO / "agent"),
                 "RAMFLOW_SOCKET": str(attacker_dir / "ramflow.sock")},
            capture_output=True, text=True, timeout=30)
        received = int(listener.stdout.readline())
    finally:
        listener.kill()
        listener.wait()
    assert worker.returncode == 0, worker.stderr
    assert received == 0, "uid 65534 received the agent's messages"
    assert worker.stderr.count(f"its directory {attacker_dir} is owned by uid {NOBODY}") == 1, worker.stderr


def test_the_charts_emptydir_layout_keeps_working(tmp_path):
    # kubelet's emptyDir: root-owned, mode 0777, a mount of its own; sidecar
    # and worker run as one non-root uid (the chart's default).
    run = Path(tempfile.mkdtemp(prefix="ramflow-run-"))
    run.chmod(0o755)
    socket_dir = run / "ramflow"
    socket_dir.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "mode=0777,size=1m", "ramflow-emptydir", str(socket_dir)]).returncode:
        shutil.rmtree(run)
        pytest.skip("cannot mount a tmpfs here")
    daemon = None
    try:
        sock = socket_dir / "ramflow.sock"
        daemon = start_ramflowd(sock, *as_uid(POD_UID))
        wait_until(lambda: sock.is_socket(), 20, "ramflowd's socket in the emptyDir")
        agent_dir = run / "agent"
        shutil.copytree(REPO / "agent" / "ramflow", agent_dir / "ramflow",
                        ignore=shutil.ignore_patterns("__pycache__"))
        worker = subprocess.run(
            as_uid(POD_UID) + ["/usr/bin/python3", "-c", "import time, ramflow; ramflow.mark_ready(); time.sleep(1.5)"],
            env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(agent_dir), "RAMFLOW_SOCKET": str(sock),
                 "HOME": "/nonexistent"},
            capture_output=True, text=True, timeout=30)
        assert worker.returncode == 0 and "not connecting" not in worker.stderr, worker.stderr
        port = int(next(a for a in daemon.args if a.startswith("127.0.0.1:")).split(":")[1])
        wait_until(lambda: any(n == "ramflow_agent_events_total" and l.get("type") == "hello" and v >= 1
                               for n, l, v in scrape_metrics(port)), 20, "the worker's hello")
    finally:
        if daemon is not None:
            daemon.terminate()
            daemon.wait(timeout=10)
        subprocess.run(["umount", str(socket_dir)])
        shutil.rmtree(run, ignore_errors=True)
