"""Processes that fork without Celery, against the real ramflowd (build/default,
which stage 10 builds; skipped when it is not built, a failure under CI=true):
a child forked from a ready process is ready at fork, on its own connection and
identity, with none of its parent's figures; its last figures reach ramflowd
when it ends as gunicorn's workers do (sys.exit) and as multiprocessing's do
(os._exit after multiprocessing's finalizers). Every count is checked exactly in
/metrics.
"""

import os
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import pytest

from conftest import Worker

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests" / "e2e"))
from prom_servers import Servers, free_port, ramflowd_binary, scrape_metrics, wait_until  # noqa: E402

INTERVAL = "250ms"
WAIT_SECONDS = 30  # generous bound on ramflowd seeing something: not a timing assertion
TASKS = 12  # a leak verdict needs 10 task ends
PARENT_CALLS = 500
CHILD_CALLS = 300


class Ramflowd:
    """The real ramflowd on 127.0.0.1, watching only processes whose command line has `tag`."""

    def __init__(self, directory: Path, tag: str) -> None:
        self.tag = tag
        self.socket = str(directory / "ramflow.sock")
        self.port = free_port()
        self.servers = Servers(directory)
        # The tag reaches ramflowd through its environment, so its own command line does not match.
        self.servers.start("ramflowd", [str(ramflowd_binary()), "serve", "--listen", f"127.0.0.1:{self.port}",
                                        "--socket", self.socket, "--interval", INTERVAL, "--ebpf", "off"],
                           env={**os.environ, "RAMFLOW_PROCESS_MATCH": tag})
        wait_until(lambda: os.path.exists(self.socket), WAIT_SECONDS, "ramflowd's socket")

    def series(self, name: str, **labels: str) -> List[Tuple[Dict[str, str], float]]:
        return [(l, v) for n, l, v in scrape_metrics(self.port)
                if n == name and all(l.get(k) == want for k, want in labels.items())]

    def value(self, name: str, **labels: str) -> Optional[float]:
        found = self.series(name, **labels)
        return found[0][1] if found else None

    def process_info(self, pid: int) -> Optional[Dict[str, str]]:
        """The labels of `pid`'s ramflow_process_info, once ramflowd watches it."""
        found = self.series("ramflow_process_info", pid=str(pid))
        return found[0][0] if found else None

    def counts(self, expected: Dict[Tuple[str, str], int]) -> Dict[Tuple[str, str], float]:
        """ramflow_function_calls_total once each (function, kind) reached what was
        called (bounded wait), read again a second later: a figure counted twice
        would show above it."""
        def calls(function: str, kind: str) -> float:
            return self.value("ramflow_function_calls_total", function=function, kind=kind) or 0.0

        wait_until(lambda: all(calls(*key) >= n for key, n in expected.items()), WAIT_SECONDS,
                   f"ramflowd to count {expected}")
        time.sleep(1.0)
        return {key: calls(*key) for key in expected}

    def close(self) -> None:
        self.servers.stop()


@pytest.fixture
def ramflowd(tmp_path):
    daemon = Ramflowd(tmp_path, f"forktest{os.getpid()}n{time.monotonic_ns()}")
    yield daemon
    daemon.close()


def assert_ready_at_fork(daemon: Ramflowd, parent: int, child: int) -> Dict[str, str]:
    """The child is watched under its own worker, and has what only a ready process
    has: its business layer, its residual after tasks, a leak verdict."""
    info = wait_until(lambda: daemon.process_info(child), WAIT_SECONDS, f"ramflowd to watch the child {child}")
    worker = info["worker"]
    wait_until(lambda: daemon.value("ramflow_leak_probability", worker=worker) is not None, WAIT_SECONDS,
               f"a leak verdict for the child's worker {worker}")
    assert info["role"] == "child", info
    assert daemon.process_info(parent)["worker"] != worker
    assert daemon.value("ramflow_layer_bytes", worker=worker, layer="business") is not None
    assert daemon.value("ramflow_residual_bytes", worker=worker) >= (TASKS - 1) << 20  # 1 MiB kept per task
    assert [l["worker"] for l, _ in daemon.series("ramflow_residual_bytes")] == [worker]  # the parent ran none
    assert daemon.value("ramflow_agent_connected_processes") >= 2  # each on its own connection
    return info


def test_a_child_forked_from_a_ready_process_is_ready_and_counts_only_its_own_calls(ramflowd):
    """gunicorn-style: os.fork() from a process that marked ready; the child ends with sys.exit."""
    worker = Worker(f"""
        import os, sys, ramflow
        from scenario_helpers import wait_connected, wait_drained

        @ramflow.track("fork.parent_call")
        def parent_call(): pass

        @ramflow.track("fork.child_call")
        def child_call(): pass

        kept = []

        @ramflow.task("fork.job")
        def job():
            kept.append(b"x" * (1 << 20))

        ramflow.mark_ready()
        wait_connected()
        for _ in range({PARENT_CALLS}):
            parent_call()  # still in the parent's rows at fork, unless the flusher just took them
        pid = os.fork()
        if pid == 0:
            for _ in range({CHILD_CALLS}):
                child_call()
            for _ in range({TASKS}):
                job()
            sys.stdin.readline()  # until the test has looked at ramflowd
            sys.exit(0)  # as gunicorn's workers end: atexit sends the last figures
        print(pid, flush=True)
        os.waitpid(pid, 0)
        wait_drained()
    """, ramflowd.socket, args=[ramflowd.tag])
    child = int(worker.readline())
    assert_ready_at_fork(ramflowd, worker.pid, child)
    worker.tell()
    worker.finish()
    assert ramflowd.counts({("fork.parent_call", "function"): PARENT_CALLS,
                            ("fork.child_call", "function"): CHILD_CALLS,
                            ("fork.job", "task"): TASKS}) == {
        ("fork.parent_call", "function"): PARENT_CALLS,
        ("fork.child_call", "function"): CHILD_CALLS,
        ("fork.job", "task"): TASKS}


def test_multiprocessing_children_are_ready_at_fork_and_their_last_figures_arrive(ramflowd):
    """A multiprocessing.Process and a recycling multiprocessing.Pool (fork start
    method) from a ready process; multiprocessing ends its children with os._exit."""
    pool_tasks = 12
    worker = Worker(f"""
        import multiprocessing, os, sys, ramflow
        from scenario_helpers import wait_connected, wait_drained

        mp = multiprocessing.get_context("fork")
        kept = []

        @ramflow.track("mp.child_call")
        def child_call(): pass

        @ramflow.task("mp.job")
        def job():
            kept.append(b"x" * (1 << 20))

        @ramflow.task("mp.pool_job")
        def pool_job(i):
            child_call()
            return os.getpid()

        def serve(go):
            for _ in range({TASKS}):
                job()
                child_call()
            print(os.getpid(), flush=True)
            go.wait(60)

        ramflow.mark_ready()
        wait_connected()
        go = mp.Event()
        server = mp.Process(target=serve, args=(go,))
        server.start()
        sys.stdin.readline()  # until the test has looked at ramflowd
        go.set()
        server.join()
        pool = mp.Pool(2, maxtasksperchild=3)
        pids = pool.map(pool_job, range({pool_tasks}), chunksize=1)
        pool.close()  # not terminate(): SIGTERM would cut the children short
        pool.join()
        print(len(set(pids)), flush=True)
        wait_drained()
    """, ramflowd.socket, args=[ramflowd.tag])
    server = int(worker.readline())
    assert_ready_at_fork(ramflowd, worker.pid, server)
    worker.tell()
    pool_children = int(worker.readline())
    worker.finish()
    assert pool_children >= pool_tasks // 3  # the pool recycled its children
    assert ramflowd.counts({("mp.job", "task"): TASKS, ("mp.pool_job", "task"): pool_tasks,
                            ("mp.child_call", "function"): TASKS + pool_tasks}) == {
        ("mp.job", "task"): TASKS, ("mp.pool_job", "task"): pool_tasks,
        ("mp.child_call", "function"): TASKS + pool_tasks}
