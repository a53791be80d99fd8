"""The Kubernetes pod layout of the Helm chart, simulated on this machine.

What the chart builds, reproduced with real processes (no container runtime here):
  * the init container's copy: agent/ramflow and agent/sitecustomize copied to a
    fresh directory, loaded by the worker only through PYTHONPATH;
  * the shared emptyDir: a directory holding the agent socket;
  * the default security mode: sidecar and worker run as the same non-root UID;
  * the two cgroup layouts of container runtimes on v1: worker and sidecar each sit
    in their own v1 memory cgroup (real, with a limit, under /sys/fs/cgroup/memory)
    inside their own mount namespace, with either a private cgroup namespace and
    the memory controller mounted at their /sys/fs/cgroup/memory (containerd with
    cgroup namespaces), or the host's cgroup namespace and only their own cgroup
    bind-mounted there (runc as podman and the kubelet use it on v1). Either way the
    worker's cgroup is not under the sidecar's cgroup root and can only be reached
    through /proc/<worker pid>/root;
  * shareProcessNamespace: both in one PID namespace (the host's).
Needs root (cgroups, namespaces, setpriv), /usr/bin/python3 and the ramflowd
binary (build/default/src/ramflowd or $RAMFLOWD): skipped without it, failed
without it when CI=true. Every process and cgroup it creates is removed.
"""
import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
RAMFLOWD = Path(os.environ.get("RAMFLOWD", REPO / "build/default/src/ramflowd"))
WORKER_UID = 4242    # the worker image's UID (the pod's runAsUser)
OTHER_UID = 4343     # someone else in the pod
WORKER_LIMIT = 256 << 20
SIDECAR_LIMIT = 128 << 20
MEMCG = Path("/sys/fs/cgroup/memory")
DEADLINE_S = 30



@pytest.fixture(autouse=True)
def requirements():
    if os.geteuid() != 0 or not MEMCG.is_dir():
        pytest.skip("needs root and the v1 memory controller at /sys/fs/cgroup/memory")
    if not RAMFLOWD.is_file():
        if os.environ.get("CI") == "true":
            pytest.fail(f"no ramflowd at {RAMFLOWD}: build it first", pytrace=False)
        pytest.skip(f"no ramflowd at {RAMFLOWD} yet")

WORKER_SCRIPT = """
import sys, time
import ramflow                      # already loaded by the copied sitecustomize
assert "ramflow" in sys.modules
ballast = bytearray(24 << 20)       # the "ecosystem": what imports would load
for i in range(0, len(ballast), 4096):
    ballast[i] = 1
ramflow.mark_ready()
print("ready", flush=True)
time.sleep(600)
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def as_uid(uid: int, gid: int) -> list:
    return ["setpriv", f"--reuid={uid}", f"--regid={gid}", "--clear-groups", "--"]


def in_container(cgroup: Path, argv: list, layout: str) -> list:
    """Joins `cgroup` and gives the command what a container runtime gives a container:
    "cgroupns": its own cgroup + mount namespaces with the memory controller mounted at
    /sys/fs/cgroup/memory (the cgroup is then the namespace's root); "container": its
    own mount namespace with only its cgroup bind-mounted there (runc on v1)."""
    if layout == "cgroupns":
        inner = ("mount -t tmpfs cgroups /sys/fs/cgroup && mkdir /sys/fs/cgroup/memory"
                 " && mount -t cgroup -o memory memory /sys/fs/cgroup/memory && exec \"$@\"")
        unshare = "unshare --cgroup --mount --propagation private"
    else:
        rel = cgroup.relative_to(MEMCG)
        inner = ("m=$(mktemp -d) && mount -t cgroup -o memory memory $m && mount -t tmpfs cgroups /sys/fs/cgroup"
                 f" && mkdir /sys/fs/cgroup/memory && mount --bind $m/{rel} /sys/fs/cgroup/memory && umount $m"
                 " && rmdir $m && exec \"$@\"")
        unshare = "unshare --mount --propagation private"
    outer = f'echo $$ > {cgroup}/cgroup.procs && exec {unshare} sh -c \'{inner}\' inner "$@"'
    return ["sh", "-c", outer, "outer", *argv]


class Pod:
    """One simulated pod: a shared socket directory, the copied agent, two cgroups."""

    def __init__(self, layout: str = "cgroupns"):
        self.layout = layout
        # Not pytest's tmp_path: its parents are 0700, and the worker UID must
        # traverse to the agent copy and the socket, as in the pod's volumes.
        self.tmp = tmp = Path(tempfile.mkdtemp(prefix="ramflow-pod-"))
        tmp.chmod(0o755)
        self.socket_dir = tmp / "run-ramflow"           # the emptyDir
        self.socket_dir.mkdir()
        os.chown(self.socket_dir, WORKER_UID, WORKER_UID)
        self.agent = tmp / "ramflow-agent"              # the init container's copy
        for part in ("ramflow", "sitecustomize"):
            shutil.copytree(REPO / "agent" / part, self.agent / part,
                            ignore=shutil.ignore_patterns("__pycache__"))
        self.state = tmp / "state"
        self.state.mkdir()
        os.chown(self.state, WORKER_UID, WORKER_UID)
        self.cgroup = MEMCG / f"ramflow-podtest-{os.getpid()}-{tmp.name}"
        self.worker_cg = self.cgroup / "worker"
        self.sidecar_cg = self.cgroup / "sidecar"
        for cg in (self.worker_cg, self.sidecar_cg):
            cg.mkdir(parents=True)
        (self.worker_cg / "memory.limit_in_bytes").write_text(str(WORKER_LIMIT))
        (self.sidecar_cg / "memory.limit_in_bytes").write_text(str(SIDECAR_LIMIT))
        self.port = free_port()
        self.procs = []

    @property
    def socket_path(self) -> Path:
        return self.socket_dir / "ramflow.sock"

    def start_sidecar(self, uid: int = WORKER_UID) -> subprocess.Popen:
        argv = [str(RAMFLOWD), "serve", "--listen", f"127.0.0.1:{self.port}",
                "--socket", str(self.socket_path), "--interval", "1s", "--smaps-interval", "1s",
                "--state-dir", str(self.state), "--ebpf", "off", "--log-format", "json"]
        env = {"PATH": "/usr/bin:/bin", "RAMFLOW_MEMORY_LIMIT_BYTES": str(WORKER_LIMIT)}
        return self._spawn(in_container(self.sidecar_cg, as_uid(uid, WORKER_UID) + argv, self.layout), env,
                           self.tmp / "sidecar.log")

    def start_worker(self) -> subprocess.Popen:
        env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(self.agent / "sitecustomize"),
               "RAMFLOW_SOCKET": str(self.socket_path), "HOME": "/nonexistent"}
        argv = as_uid(WORKER_UID, WORKER_UID) + ["/usr/bin/python3", "-c", WORKER_SCRIPT]
        return self._spawn(in_container(self.worker_cg, argv, self.layout), env, self.tmp / "worker.log")

    def _spawn(self, argv, env, log: Path) -> subprocess.Popen:
        proc = subprocess.Popen(argv, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT,
                                start_new_session=True)
        self.procs.append(proc)
        return proc

    @property
    def worker_cgroup_seen_by_sidecar(self) -> str:
        """The worker's cgroup as /proc/PID/cgroup names it to the sidecar."""
        if self.layout == "cgroupns":
            return "/../worker"  # a sibling of the sidecar's namespace root
        return "/" + str(self.worker_cg.relative_to(MEMCG))

    def report(self) -> dict:
        """The report of the worker's cgroup (the sidecar also sees the machine's other Python processes)."""
        query = urllib.parse.urlencode({"cgroup": self.worker_cgroup_seen_by_sidecar})
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/api/v1/report?{query}", timeout=2) as r:
            return json.loads(r.read())

    def metrics(self) -> str:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/metrics", timeout=2) as r:
            return r.read().decode()

    def wait_for(self, what: str, predicate, timeout: float = DEADLINE_S):
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            try:
                last = self.metrics()
                found = predicate(last)
                if found:
                    return found
            except OSError:
                pass
            time.sleep(0.25)
        logs = "\n".join(f"--- {p.name}\n{p.read_text()[-2000:]}" for p in self.tmp.glob("*.log"))
        pytest.fail(f"timed out waiting for {what}\n--- last /metrics (ramflow_ lines):\n"
                    + "\n".join(l for l in last.splitlines() if l.startswith("ramflow_"))[:4000] + "\n" + logs)

    def close(self):
        for p in self.procs:
            if p.poll() is None:
                os.killpg(p.pid, 9)
            p.wait(timeout=10)
        for cg in (self.worker_cg, self.sidecar_cg, self.cgroup):
            for _ in range(50):
                try:
                    cg.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.1)
        shutil.rmtree(self.tmp, ignore_errors=True)


@pytest.fixture(params=["cgroupns", "container"])
def pod(request):
    p = Pod(request.param)
    yield p
    p.close()


def sample(text: str, name: str, **labels) -> "float | None":
    if "pid" in labels and name != "ramflow_process_info":
        # Only ramflow_process_info names a pid: the process's series carry its worker.
        pid = str(labels.pop("pid"))
        for line in text.splitlines():
            got = dict(re.findall(r'(\w+)="([^"]*)"', line)) if line.startswith("ramflow_process_info{") else {}
            if got.get("pid") == pid:
                labels["worker"] = got["worker"]
        if "worker" not in labels:
            return None
    for line in text.splitlines():
        if not line.startswith(name + "{"):
            continue
        got = dict(re.findall(r'(\w+)="([^"]*)"', line[len(name):line.rindex("}") + 1]))
        if all(got.get(k) == str(v) for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return None


def wait_socket(path: Path, timeout: float = DEADLINE_S):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.is_socket():
            return
        time.sleep(0.05)
    pytest.fail(f"no socket at {path} after {timeout}s")


def bootstrap_of(pod: Pod, pid: int) -> float:
    return pod.wait_for(f"bootstrap layer of pid {pid}",
                        lambda t: sample(t, "ramflow_layer_bytes", pid=pid, layer="bootstrap"))


def test_bootstrap_captured_with_the_sidecar_started_first(pod):
    pod.start_sidecar()
    wait_socket(pod.socket_path)   # what the startup probe / postStart hook waits for
    worker = pod.start_worker()
    assert bootstrap_of(pod, worker.pid) > 1 << 20


def test_bootstrap_captured_with_the_sidecar_started_after_the_worker(pod):
    worker = pod.start_worker()
    time.sleep(2)                  # the worker is up and ready, nobody listening
    assert worker.poll() is None, (pod.tmp / "worker.log").read_text()
    pod.start_sidecar()
    assert bootstrap_of(pod, worker.pid) > 1 << 20


def test_worker_cgroup_found_through_proc_root_outside_the_sidecar_cgroup_root(pod):
    pod.start_sidecar()
    wait_socket(pod.socket_path)
    pod.start_worker()
    limit = pod.wait_for("the worker cgroup's limit",
                         lambda t: sample(t, "ramflow_memory_limit_bytes", source="cgroup"))
    assert limit == WORKER_LIMIT  # never the sidecar's own SIDECAR_LIMIT
    cgroup = pod.report()["system_context"]["cgroup"]
    assert (cgroup["route"], cgroup["route_dir"]) == ("worker_mount", "/sys/fs/cgroup/memory"), cgroup
    assert cgroup["declared_limit_check"] == "agrees", cgroup  # RAMFLOW_MEMORY_LIMIT_BYTES is the worker's here
    assert "(route worker_mount)" in (pod.tmp / "sidecar.log").read_text()


def test_an_unreadable_worker_cgroup_leaves_a_report_that_says_what_is_missing(pod):
    # A sidecar of another UID, without CAP_SYS_PTRACE: /proc/<worker>/root is closed to it.
    # It shares the worker's group, as an fsGroup would give it. The socket directory is its own
    # and not writable by the group (ramflowd refuses one another user could write to, unless it is a mount
    # point as an emptyDir is): the worker needs only to reach the socket.
    os.chown(pod.socket_dir, OTHER_UID, WORKER_UID)
    pod.socket_dir.chmod(0o2750)
    pod.state.chmod(0o775)
    pod.start_sidecar(uid=OTHER_UID)
    wait_socket(pod.socket_path)
    worker = pod.start_worker()
    pod.wait_for("the worker's RSS with its 24 MiB ballast",
                 lambda t: (sample(t, "ramflow_process_rss_bytes", pid=worker.pid) or 0) > 20 << 20)
    deadline = time.monotonic() + DEADLINE_S
    while True:
        try:
            report = pod.report()
            break
        except OSError:
            assert time.monotonic() < deadline, "no 200 from /api/v1/report"
            time.sleep(0.5)
    cgroup = report["system_context"]["cgroup"]
    assert cgroup["route"] == "unreachable", cgroup
    assert "Permission denied" in cgroup["missing"], cgroup
    assert "runAsUser" in cgroup["remedy"] and "CAP_SYS_PTRACE" in cgroup["remedy"], cgroup
    assert cgroup["limit_bytes"] is None and cgroup["declared_limit_check"] == "unchecked", cgroup
    margin = report["executive"]["kpis"]["safety_margin"]
    assert margin["ratio"] is None and margin["verdict"] == "unknown", margin
    assert [p["pid"] for p in report["executive"]["processes"]] == [worker.pid]
    assert report["executive"]["processes"][0]["rss_bytes"] > 20 << 20
    assert sample(pod.metrics(), "ramflow_memory_limit_bytes") is None  # no figure rather than a wrong one
    assert "cannot be read" in (pod.tmp / "sidecar.log").read_text()


def test_smaps_rollup_readable_as_the_worker_uid_only(pod):
    pod.start_sidecar()
    wait_socket(pod.socket_path)
    worker = pod.start_worker()
    pod.wait_for("PSS of the worker (read from smaps_rollup)",
                 lambda t: sample(t, "ramflow_process_pss_bytes", pid=worker.pid))
    smaps = f"/proc/{worker.pid}/smaps_rollup"
    same = subprocess.run(as_uid(WORKER_UID, WORKER_UID) + ["cat", smaps], capture_output=True, timeout=10)
    other = subprocess.run(as_uid(OTHER_UID, OTHER_UID) + ["cat", smaps], capture_output=True, timeout=10)
    assert same.returncode == 0 and b"Pss:" in same.stdout
    assert other.returncode != 0 and b"Permission denied" in other.stderr


def test_a_process_of_another_uid_is_refused_on_the_socket(pod):
    pod.start_sidecar()
    wait_socket(pod.socket_path)
    # The other UID gets the socket's group so the file mode lets it connect:
    # the refusal tested is ramflowd's own SO_PEERCRED check.
    probe = ("import socket, sys\n"
             "s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)\n"
             f"s.connect({str(pod.socket_path)!r})\n"
             "s.settimeout(3)\n"
             "try:\n"
             "    data = s.recv(1024)\n"
             "    print('closed' if data == b'' else 'data')\n"
             "except socket.timeout:\n"
             "    print('open')\n"
             "except ConnectionResetError:\n"
             "    print('closed')\n")
    other = subprocess.run(as_uid(OTHER_UID, WORKER_UID) + ["/usr/bin/python3", "-c", probe],
                           capture_output=True, text=True, timeout=15)
    same = subprocess.run(as_uid(WORKER_UID, WORKER_UID) + ["/usr/bin/python3", "-c", probe],
                          capture_output=True, text=True, timeout=15)
    assert same.stdout.strip() == "open", same.stderr
    assert other.stdout.strip() == "closed", \
        f"uid {OTHER_UID} was not refused by ramflowd: stdout={other.stdout!r} stderr={other.stderr[-500:]!r}"
