"""A poisoned state file (issue 15 #5): an 8 MiB file of nested brackets fits the
chart's 16Mi emptyDir, and parsing it took ramflowd past its 128 MiB limit on
every start — OOM-killed, never moved aside, a crash loop. Here ramflowd runs
in a real v1 memory cgroup limited to 128 MiB (the chart's sidecar limit) with
hostile files in --state-dir, and must come up serving with the file moved
aside; and a load killed half-way (SIGKILL while the marker is there) must not
be tried again. Needs root and the v1 memory controller; skips otherwise.
Budget: ~30 s."""
from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest

from prom_servers import MemoryCgroup, Servers, free_port, ramflowd_binary, wait_until

SIDECAR_LIMIT = 128 << 20  # helm/ramflow/values.yaml sidecar.resources.limits.memory


def healthy(port: int) -> bool:
    import urllib.request
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
        return response.status == 200


def start(servers: Servers, name: str, state_dir: Path, tmp: Path, cgroup: MemoryCgroup | None = None):
    port = free_port()
    argv = [str(ramflowd_binary()), "serve", "--listen", f"127.0.0.1:{port}", "--socket", str(tmp / f"{name}.sock"),
            "--ebpf", "off", "--interval", "250ms", "--state-dir", str(state_dir)]
    process = servers.start(name, cgroup.run_inside(argv) if cgroup else argv)
    return process, port


@pytest.fixture
def cgroup():
    if os.geteuid() != 0:
        pytest.skip("needs root to create a v1 memory cgroup")
    if not Path("/sys/fs/cgroup/memory/memory.limit_in_bytes").exists():
        pytest.skip("needs the cgroup v1 memory controller at /sys/fs/cgroup/memory")
    group = MemoryCgroup(f"ramflow-hostile-state-{os.getpid()}", SIDECAR_LIMIT)
    yield group
    group.close()


def nested_brackets(size: int) -> bytes:
    return b"[" * (size // 2) + b"]" * (size // 2)


def empty_objects(size: int) -> bytes:
    # nlohmann's DOM takes 33 times this shape's size: the worst one (docs/reliability.md)
    return b"[" + b"{}," * (size // 3 - 1) + b"{}]"


@pytest.mark.parametrize("name, content, why", [
    # Over the size bound in the chart's sidecar (~6.3 MiB: half of ~126 MiB free / 10), else too deep.
    ("8 MiB of nested brackets (the issue's file)", lambda: nested_brackets(8 << 20), "larger than|nested deeper"),
    ("5 MiB of empty objects (under the size bound, 165 MiB as a DOM)", lambda: empty_objects(5 << 20),
     "MiB of memory to load"),
    ("1 MiB of nested brackets", lambda: nested_brackets(1 << 20), "nested deeper than 16 levels"),
])
def test_a_poisoned_state_file_is_moved_aside_without_exceeding_128_MiB(tmp_path, cgroup, name, content, why):
    state_dir = tmp_path / "state"
    state_dir.mkdir(mode=0o700)
    poisoned = content()
    (state_dir / "ramflow-state.json").write_bytes(poisoned)
    servers = Servers(tmp_path)
    try:
        process, port = start(servers, "ramflowd", state_dir, tmp_path, cgroup)
        wait_until(lambda: process.poll() is not None or healthy(port), 30, f"ramflowd to serve with {name}")
        servers.check_running("ramflowd")
        peak = int((cgroup.path / "memory.max_usage_in_bytes").read_text())
        log = servers.log_tail("ramflowd", 50)
        print(f"FIGURE poisoned state file, {name}: cgroup peak {peak / 2**20:.1f} MiB of 128, "
              f"{cgroup.oom_kills()} OOM kills; log: "
              + next((line for line in log.splitlines() if "cannot restore" in line), "?"))
        assert cgroup.oom_kills() == 0
        assert any(reason in log for reason in why.split("|")), log
        assert (state_dir / "ramflow-state.json.corrupt").read_bytes() == poisoned
        assert not (state_dir / "ramflow-state.json.loading").exists()
        # Stopped and started again: a clean start from the state it saved itself.
        servers.stop_one("ramflowd")
        assert process.returncode == 0
        process, port = start(servers, "again", state_dir, tmp_path, cgroup)
        wait_until(lambda: process.poll() is not None or healthy(port), 30, "ramflowd to start again")
        servers.check_running("again")
        assert "restored the state" in servers.log_tail("again", 50)
    finally:
        servers.stop()


def test_a_load_killed_half_way_is_not_tried_again(tmp_path):
    """The marker written before the parse is still there after a SIGKILL mid-parse: the next start moves the
    file aside unread (an out-of-memory kill mid-parse looks the same to the next start)."""
    if os.geteuid() != 0 and not os.access("/proc/self/status", os.R_OK):
        pytest.skip("cannot watch the process")
    state_dir = tmp_path / "state"
    state_dir.mkdir(mode=0o700)
    # A large, valid document: parsing it takes long enough to be caught in the middle.
    big = {"version": 1, "written_at": 0, "oom": {"version": 1, "history": [], "counters": {}},
           "analysis": {"version": 2, "cgroups": {},
                        "processes": [{"pid": i + 1, "window": [[j, 1.5 * j, 4096 * j] for j in range(2000)]}
                                      for i in range(100)]}}
    text = json.dumps(big, separators=(",", ":")).encode()
    (state_dir / "ramflow-state.json").write_bytes(text)
    marker = state_dir / "ramflow-state.json.loading"
    servers = Servers(tmp_path)
    try:
        process, _ = start(servers, "first", state_dir, tmp_path)
        deadline = time.monotonic() + 20
        while not marker.exists() and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.0005)
        seen = marker.exists()
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
        assert seen, "no marker of an unfinished load appeared in --state-dir while the file was read"
        if not marker.exists():
            pytest.fail(f"the {len(text) >> 20} MiB load finished before it could be killed: make the file larger")
        process, port = start(servers, "second", state_dir, tmp_path)
        wait_until(lambda: process.poll() is not None or healthy(port), 30, "ramflowd to start after the kill")
        servers.check_running("second")
        log = servers.log_tail("second", 50)
        assert "stopped while loading it" in log, log
        assert (state_dir / "ramflow-state.json.corrupt").read_bytes() == text
        assert not marker.exists()
    finally:
        servers.stop()
