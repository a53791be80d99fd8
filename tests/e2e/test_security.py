"""The threat model of docs/security.md, tested against a running ramflowd:
the agent socket's mode, a peer of another UID (kept out by the file mode,
then by the SO_PEERCRED rule once an operator loosens the mode), a process
claiming another process's pid in its payload, and no shell in the binary.
HTTP write and oversized requests: tests/e2e/test_daemon.py. State file modes:
tests/e2e/test_restart.py and tests/unit/daemon/state_store_test.cpp.
Real processes on 127.0.0.1; the UID cases need root and skip otherwise."""
from __future__ import annotations

import json
import os
import re
import shutil
import socket
import stat
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from prom_servers import Servers, free_port, ramflowd_binary, scrape_metrics, wait_until

NOBODY = 65534


@pytest.fixture
def daemon(tmp_path):
    servers = Servers(tmp_path)
    port = free_port()
    # Under /tmp, not tmp_path (0700): a peer of another UID must be able to
    # reach the socket file for its own mode to be what is tested.
    run_dir = Path(tempfile.mkdtemp(prefix="ramflow-security-"))
    run_dir.chmod(0o755)
    sock = run_dir / "ramflow.sock"
    servers.start("ramflowd", [str(ramflowd_binary()), "serve", "--listen", f"127.0.0.1:{port}",
                               "--socket", str(sock), "--interval", "200ms", "--ebpf", "off"])
    wait_until(lambda: sock.exists() and scrape_metrics(port), 20, "ramflowd to serve and listen for agents")
    yield port, sock, servers
    servers.stop()
    shutil.rmtree(run_dir, ignore_errors=True)


def rejected(port: int, reason: str) -> float:
    return sum(v for n, l, v in scrape_metrics(port)
               if n == "ramflow_agent_events_rejected_total" and l.get("reason") == reason)


def as_nobody_connect(path: Path) -> str:
    """Connects and sends a hello as UID 65534 in a child process; returns what happened."""
    code = (
        "import os, socket, sys\n"
        f"os.setgid({NOBODY}); os.setuid({NOBODY})\n"
        "s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)\n"
        "try:\n"
        "    s.connect(sys.argv[1])\n"
        "except OSError as e:\n"
        "    print('connect', e.errno); sys.exit(0)\n"
        "try:\n"
        "    s.send(b'{\"v\":1,\"seq\":0,\"type\":\"hello\",\"agent\":\"x\",\"python\":\"3\",\"framework\":\"none\","
        "\"pool\":\"none\",\"worker\":\"intruder\",\"index\":null,\"pid\":1}')\n"
        "    s.settimeout(5)\n"
        "    print('closed' if s.recv(1) == b'' else 'open')\n"
        "except (ConnectionResetError, BrokenPipeError):\n"
        "    print('closed')\n")
    out = subprocess.run(["/usr/bin/python3", "-c", code, str(path)], capture_output=True, text=True, timeout=20)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_socket_is_owner_and_group_only(daemon):
    _, sock, _ = daemon
    mode = sock.stat().st_mode
    assert stat.S_ISSOCK(mode) and stat.S_IMODE(mode) == 0o660, oct(mode)


def test_another_uid_is_kept_out_by_the_mode_and_then_by_peer_credentials(daemon):
    if os.geteuid() != 0:
        pytest.skip("needs root to run a peer as UID 65534")
    port, sock, _ = daemon
    assert as_nobody_connect(sock) == "connect 13", "EACCES from the socket's 0660 mode"
    sock.chmod(0o666)  # an operator loosens the mode: SO_PEERCRED still refuses
    before = rejected(port, "refused_peer")
    assert as_nobody_connect(sock) == "closed"
    wait_until(lambda: rejected(port, "refused_peer") > before, 10, "the refused peer to be counted")
    workers = {l.get("worker") for n, l, _ in scrape_metrics(port) if n == "ramflow_process_rss_bytes"}
    assert "intruder" not in workers


def test_a_claimed_pid_in_the_payload_is_ignored(daemon, tmp_path):
    port, sock, servers = daemon
    victim = servers.start("victim", ["/usr/bin/python3", "-c", "import time; time.sleep(120)"])
    wait_until(lambda: any(l.get("pid") == str(victim.pid) for n, l, _ in scrape_metrics(port)
                           if n == "ramflow_process_info"), 20, "ramflowd to watch the victim")
    impostor = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    impostor.connect(str(sock))
    messages = [
        {"v": 1, "seq": 0, "type": "hello", "agent": "x", "python": "3", "framework": "celery", "pool": "solo",
         "worker": "impostor", "index": None, "pid": victim.pid},
        {"v": 1, "seq": 1, "type": "task_start", "name": "tasks.forged", "id": "1", "t": time.time(), "rss": 1 << 30},
    ]
    for m in messages:
        impostor.send(json.dumps(m).encode())
    try:
        def series() -> dict[str, str]:
            return {l["pid"]: l["worker"] for n, l, _ in scrape_metrics(port) if n == "ramflow_process_info"}
        found = wait_until(lambda: (s := series()).get(str(os.getpid())) == "impostor" and s, 20,
                           "the impostor's hello to attach to its own (kernel) pid")
        assert found[str(victim.pid)] != "impostor", f"the victim took the impostor's identity: {found}"
    finally:
        impostor.close()


def test_the_binary_has_no_shell_out():
    out = subprocess.run(["nm", "-D", "--undefined-only", str(ramflowd_binary())], capture_output=True, text=True,
                         timeout=30)
    assert out.returncode == 0, out.stderr
    imported = set(re.findall(r"\bU (\w+)", out.stdout))
    assert imported, "nm listed no imports"
    assert not imported & {"system", "popen", "wordexp", "posix_spawnp", "execl", "execlp", "execle"}, imported


SECRETS = ("S3cretPassw0rd", "hunter2", "t0k3n")


def run_with_secrets(tmp_path: Path, *options: str) -> tuple[str, dict]:
    """`ramflowd run` on a worker whose argv carries secrets; what it printed and the report it wrote."""
    report = tmp_path / "report.html"
    argv = ["/usr/bin/python3", "-c", "import time; time.sleep(2)", "--broker", "redis://:S3cretPassw0rd@redis:6379/0",
            "--password", "hunter2", "FOO_TOKEN=t0k3n"]
    out = subprocess.run([str(ramflowd_binary()), "run", "--report", str(report), "--ebpf", "off",
                          "--log-level", "debug", *options, "--", *argv],
                         capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    html = report.read_text()
    match = re.search(r'<script type="application/json" id="ramflow-report">(.*?)</script>', html, re.S)
    assert match, "the HTML report embeds its JSON"
    return out.stdout + out.stderr + html, json.loads(match.group(1))


def test_secrets_in_a_workers_command_line_leave_no_output_by_default(tmp_path):
    """Issue 15 #10: /api/v1/report showed `--broker redis://:S3cretPassw0rd@redis:6379/0`. The report
    (served, or embedded in the HTML as here), the terminal summary and the debug log all redact."""
    everything, report = run_with_secrets(tmp_path)
    for secret in SECRETS:
        assert secret not in everything, secret
    assert report["executive"]["worker"]["command"].endswith(
        "--broker redis://***@redis:6379/0 --password *** FOO_TOKEN=***")
    _, shown = run_with_secrets(tmp_path, "--show-command-lines", "true")
    assert "redis://:S3cretPassw0rd@redis:6379/0 --password hunter2" in shown["executive"]["worker"]["command"]
